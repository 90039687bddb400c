// Dropping the page cache, so a wake can be measured with the model file cold, as after a reboot
// or after the system reclaimed the memory. Needs root and a writable /proc/sys.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { errorMessage } from '../../server/src/shared/errors';

/** Why dropping is impossible here, or null when it works. */
export function pageCacheDropProblem(): string | null {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return null;
  } catch (err) {
    return `cannot drop the page cache (${errorMessage(err)})`;
  }
}

export function dropPageCache(): void {
  execFileSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '3');
}

/** Bytes of `file` resident in the page cache, from util-linux fincore; null when unavailable. */
export function residentBytes(file: string): number | null {
  try {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' });
    const n = Number(out.trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}
