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

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat): with the
 * pid it names one process for good, since a pid is reused once its process is gone. Null where
 * that cannot be read (not Linux, or no such process).
 */
export function processStartTime(pid: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * processPresence of the process that was `pid` when `startTime` was taken (null: not known):
 * another process that got the pid since is 'none' as far as that one is concerned.
 */
export function recordedProcessPresence(pid: number, startTime: string | null): 'ours' | 'foreign' | 'none' {
  const presence = processPresence(pid);
  if (presence === 'none' || startTime === null) return presence;
  const now = processStartTime(pid);
  return now !== null && now !== startTime ? 'none' : presence;
}
