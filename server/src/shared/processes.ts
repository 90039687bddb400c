// Whether a process still exists, asked with signal 0, which checks without sending anything.
import { readFileSync } from 'node:fs';

/** 'ours': it exists and we may signal it; 'foreign': it exists but is another user's; 'none': gone. */
export function processPresence(pid: number): 'ours' | 'foreign' | 'none' {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'foreign' : 'none';
  }
  return isZombie(pid) ? 'none' : 'ours';
}

/**
 * An exited process nobody reaped: a detached host whose server died is left to pid 1, and in a
 * container that is often not an init that reaps. It answers signal 0, but it is gone. Linux only.
 */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}
