// An exclusive lock file holding its owner's pid, taken over when that process is gone. Two
// processes that find the same dead owner at once must not both take it over: the takeover is
// itself a lock, named after the dead pid, so exactly one of them wins each dead owner.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { processPresence } from './processes';

/** The pid the lock file names; null when there is no lock (or it is being written). */
export function lockOwner(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
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
    writeSync(fd, String(process.pid));
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
  const pid = lockOwner(file);
  // An empty file is one being written: its owner is alive.
  if (pid === null || pid === process.pid || processPresence(pid) !== 'none' || depth > 3) return pid === process.pid;
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
