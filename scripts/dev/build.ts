// Builds the bundles and the .vsix with the project's own scripts, so tests use what ships.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { cacheRoot, repoRoot } from './paths';

function run(command: string, args: readonly string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${what} failed (exit code ${code}): ${out.trim().split('\n').slice(-10).join(' | ')}`)),
    );
  });
}

export async function buildBundles(): Promise<void> {
  await run(process.execPath, ['esbuild.mjs', '--tests'], 'Building the bundles (node esbuild.mjs --tests)');
}

/** Runs `npm run package` (production bundles + vsce) and returns the .vsix it wrote. */
export async function packageVsix(out: string = path.join(cacheRoot, 'vsix', 'local-llm-test.vsix')): Promise<string> {
  if (!existsSync(path.join(repoRoot, 'scripts', 'package.mjs'))) {
    throw new Error('scripts/package.mjs is missing, so the .vsix cannot be built.');
  }
  mkdirSync(path.dirname(out), { recursive: true });
  rmSync(out, { force: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const log = await run(npm, ['run', '--silent', 'package', '--', '--out', out], 'npm run package');
  if (!existsSync(out)) throw new Error(`npm run package wrote no ${out}: ${log.trim().split('\n').slice(-5).join(' | ')}`);
  return out;
}
