// An exclusive lock file holding its owner's pid (and, where known, its start time, so that a
// process that got the pid later is not taken for the owner), taken over when that process is
// gone. Two processes that find the same dead owner at once must not both take it over: the
// takeover is itself a lock, named after the dead pid, so exactly one of them wins each dead owner.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { processStartTime, recordedProcessPresence } from './processes';

export interface LockHolder {
  pid: number;
  /** processStartTime when it took the lock; null when not known (or written by an older version). */
  startTime: string | null;
}

/** Who the lock file names; null when there is no lock (or it is being written). */
export function lockHolder(file: string): LockHolder | null {
  try {
    const [pidText, startTime] = readFileSync(file, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    return Number.isInteger(pid) && pid > 0 ? { pid, startTime: startTime ?? null } : null;
  } catch {
    return null;
  }
}

/** The pid the lock file names; null when there is no lock (or it is being written). */
export function lockOwner(file: string): number | null {
  return lockHolder(file)?.pid ?? null;
}

/** Whether the process that took the lock still runs: a reused pid does not count (#24). */
export function holderPresence(holder: LockHolder): 'ours' | 'foreign' | 'none' {
  return recordedProcessPresence(holder.pid, holder.startTime);
}

function createExclusive(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const startTime = processStartTime(process.pid);
    writeSync(fd, startTime === null ? String(process.pid) : `${process.pid} ${startTime}`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock for this process, or returns false when a live process holds it (or is writing
 * it right now). `depth` bounds the chain of takeovers of takeovers.
 */
export function acquirePidLock(file: string, depth = 0): boolean {
  if (createExclusive(file)) return true;
  const holder = lockHolder(file);
  const pid = holder?.pid ?? null;
  // An empty file is one being written: its owner is alive.
  if (holder === null || pid === process.pid || holderPresence(holder) !== 'none' || depth > 3) return pid === process.pid;
  const takeover = `${file}.${pid}`;
  if (!acquirePidLock(takeover, depth + 1)) return false;
  try {
    // Still the same dead owner? Then nobody else replaced it meanwhile.
    if (lockOwner(file) !== pid) return false;
    rmSync(file, { force: true });
    return createExclusive(file);
  } finally {
    rmSync(takeover, { force: true });
  }
}

/** Gives the lock up, if this process holds it. */
export function releasePidLock(file: string): void {
  if (lockOwner(file) === process.pid) rmSync(file, { force: true });
}

/**
 * Removes the lock of `pid` once that process is gone, after `clear` removed what it left beside
 * it (a socket, a description), under the takeover claim acquirePidLock uses: a process taking
 * the lock over at the same moment is never undone. False when the lock is not that dead
 * holder's (any more), or another process is taking it over.
 */
export function clearDeadLock(file: string, pid: number, clear: () => void): boolean {
  const holder = lockHolder(file);
  if (holder?.pid !== pid || holderPresence(holder) !== 'none') return false;
  const takeover = `${file}.${pid}`;
  if (!createExclusive(takeover)) return false;
  try {
    if (lockOwner(file) !== pid) return false;
    clear();
    rmSync(file, { force: true });
    return true;
  } finally {
    rmSync(takeover, { force: true });
  }
}
