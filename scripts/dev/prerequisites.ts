// The system packages a real workbench needs here: Debian's Chromium to drive it, ripgrep to
// seed code-server's download cache, and the Kerberos headers its native module builds against.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const chromiumPath = '/usr/bin/chromium';

interface DebianPackage {
  name: string;
  present(): boolean;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function dpkgInstalled(name: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

export const chromium: DebianPackage = { name: 'chromium', present: () => existsSync(chromiumPath) };
export const ripgrep: DebianPackage = { name: 'ripgrep', present: () => onPath('rg') };
export const kerberosHeaders: DebianPackage = { name: 'libkrb5-dev', present: () => dpkgInstalled('libkrb5-dev') };

/** Installs what is missing with apt-get when we are root; otherwise says what to install. */
export function ensureDebianPackages(packages: readonly DebianPackage[]): void {
  const missing = packages.filter((p) => !p.present()).map((p) => p.name);
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(`Missing system packages: ${missing.join(', ')}; install them with "sudo apt-get install -y ${missing.join(' ')}".`);
  }
  process.stderr.write(`Installing ${missing.join(', ')} with apt-get...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]): void => {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env });
    if (r.status !== 0) throw new Error(`"apt-get ${args.join(' ')}" failed with exit code ${r.status}.`);
  };
  run(['update']);
  run(['install', '-y', '--no-install-recommends', ...missing]);
}
