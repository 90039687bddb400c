// code-server (VS Code 1.100 for the browser) installed once into a cache folder that is not
// part of the project's dependencies, and reused by every later run.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cacheRoot, codeServerVersion } from './paths';
import { ensureDebianPackages, kerberosHeaders, ripgrep } from './prerequisites';
import { seedRipgrepCache } from './ripgrepCache';

export const codeServerDir = path.join(cacheRoot, `code-server-${codeServerVersion}`);
/** Written last, so an interrupted install is redone rather than trusted. */
const completeMarker = path.join(codeServerDir, '.complete');
export const codeServerEntry = path.join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export function isCodeServerInstalled(): boolean {
  return existsSync(completeMarker) && existsSync(codeServerEntry);
}

async function withInstallLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = `${codeServerDir}.lock`;
  mkdirSync(cacheRoot, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another run is installing; a lock older than 20 minutes belongs to a dead one.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since === undefined) continue; // Released meanwhile.
      if (Date.now() - since > 20 * 60_000) rmSync(lock, { recursive: true, force: true });
      else await sleep(2000);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function npmInstall(cwd: string): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const env = {
    ...process.env,
    // Its install script refuses to run as root otherwise.
    npm_config_unsafe_perm: 'true',
    // node-pty's install runs `npx node-gyp`, which aborts under a `yes=false` npm config.
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(npm, ['install', '--save-exact', `code-server@${codeServerVersion}`], {
      cwd,
      env,
      stdio: ['ignore', 2, 2],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`Installing code-server ${codeServerVersion} with npm failed (exit code ${code}); see the npm output above.`)),
    );
  });
}

/** Returns the path of code-server's entry script, installing it first when the cache lacks it. */
export async function ensureCodeServer(): Promise<string> {
  if (isCodeServerInstalled()) return codeServerEntry;
  return withInstallLock(async () => {
    if (isCodeServerInstalled()) return codeServerEntry;
    ensureDebianPackages([ripgrep, kerberosHeaders]);
    seedRipgrepCache();
    rmSync(codeServerDir, { recursive: true, force: true });
    mkdirSync(codeServerDir, { recursive: true });
    writeFileSync(
      path.join(codeServerDir, 'package.json'),
      JSON.stringify(
        { name: 'local-llm-code-server-cache', private: true, description: 'Cache for the UI tests; not a project dependency.' },
        null,
        2,
      ),
    );
    process.stderr.write(`Installing code-server ${codeServerVersion} into ${codeServerDir} (once; about 2 minutes)...\n`);
    const started = Date.now();
    try {
      await npmInstall(codeServerDir);
    } catch (err) {
      rmSync(codeServerDir, { recursive: true, force: true });
      throw err;
    }
    if (!existsSync(codeServerEntry)) throw new Error(`code-server installed, but ${codeServerEntry} is missing.`);
    writeFileSync(completeMarker, new Date().toISOString() + '\n');
    process.stderr.write(`code-server installed in ${Math.round((Date.now() - started) / 1000)} s.\n`);
    return codeServerEntry;
  });
}

/** CLI: `node --import tsx scripts/dev/codeServerInstall.ts` warms the cache (CI install step). */
if (require.main === module) {
  ensureCodeServer().then(
    (entry) => process.stdout.write(`${entry}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
