// code-server's ripgrep dependency downloads a release archive from GitHub in its postinstall
// unless its cache already holds it. With no route to GitHub, seed the cache with Debian's rg.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const cacheFolder = 'vscode-ripgrep-cache-1.15.11';
const archiveName = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

export function seedRipgrepCache(): string {
  const dir = path.join(process.env.TMPDIR ?? os.tmpdir(), cacheFolder);
  const archive = path.join(dir, archiveName);
  if (existsSync(archive)) return archive;
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  if (!rg) throw new Error('ripgrep (rg) is not installed, so code-server cannot be installed offline.');
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(path.join(os.tmpdir(), 'rg-stage-'));
  try {
    // The postinstall untars into its bin/ folder and expects `rg` at the archive's top level.
    copyFileSync(rg, path.join(staging, 'rg'));
    chmodSync(path.join(staging, 'rg'), 0o755);
    const r = spawnSync('tar', ['-czf', archive, '-C', staging, 'rg'], { stdio: ['ignore', 2, 2] });
    if (r.status !== 0) throw new Error(`Could not write the ripgrep archive ${archive}.`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return archive;
}
