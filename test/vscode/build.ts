// Builds the bundles and the .vsix with the project's own scripts, so tests use what ships.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './paths';

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
  await run(process.execPath, ['esbuild.mjs'], 'Building the bundles (node esbuild.mjs)');
}

function newestVsix(since: number): string | null {
  const found = readdirSync(repoRoot)
    .filter((f) => f.endsWith('.vsix'))
    .map((f) => path.join(repoRoot, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return found[0] ?? null;
}

/** Runs `npm run package` and returns the .vsix it wrote. */
export async function packageVsix(): Promise<string> {
  if (!existsSync(path.join(repoRoot, 'scripts', 'package.mjs'))) {
    throw new Error('scripts/package.mjs is missing, so the .vsix cannot be built.');
  }
  const started = Date.now() - 1000;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = await run(npm, ['run', '--silent', 'package'], 'npm run package');
  const named = out.match(/(\S+\.vsix)\b/g)?.map((p) => path.resolve(repoRoot, p)).find((p) => existsSync(p));
  const vsix = named ?? newestVsix(started);
  if (!vsix) throw new Error(`npm run package wrote no .vsix: ${out.trim().split('\n').slice(-5).join(' | ')}`);
  return vsix;
}
