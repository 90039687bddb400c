// One download at a time per models folder: every VS Code window runs its own server, and two
// windows starting with the same default model must not write the same partial file.
import { open, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { delay } from '../../shared/cancellation';
import { processPresence } from '../../shared/processes';

const lockName = '.download.lock';
const pollMs = 500;

/** Any process under the pid keeps the lock: better to wait than to take a live download's file. */
function isAlive(pid: number): boolean {
  return processPresence(pid) !== 'none';
}

async function holder(lockPath: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(lockPath, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Runs `fn` holding the folder's download lock. While another live process holds it, waits
 * (calling `onWait` once); a lock left by a dead process is taken over. Rejects if `signal` aborts.
 */
export async function withDownloadLock<T>(
  modelsDir: string,
  signal: AbortSignal | undefined,
  onWait: () => void,
  fn: () => Promise<T>,
): Promise<T> {
  const lockPath = path.join(modelsDir, lockName);
  let told = false;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = await holder(lockPath);
    if (pid === null || !isAlive(pid)) {
      // Dead holder, or a lock file caught half-written: a second look tells them apart.
      await delay(pid === null ? 50 : 0, signal);
      const again = await holder(lockPath);
      if (again === pid) await rm(lockPath, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      onWait();
    }
    await delay(pollMs, signal);
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
