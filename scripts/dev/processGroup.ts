// Long-lived helpers (code-server and its watchers) run in their own process group, so one
// signal to the group stops every child; killing only the leader leaves orphans behind.
import { spawn, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GroupProcess {
  /** The leader's pid, which is also the process group id. */
  pgid: number;
  /** Resolves once the leader has exited. */
  exited: Promise<number | null>;
  /** Everything the leader wrote to stdout and stderr so far (bounded). */
  output(): string;
}

const liveGroups = new Set<number>();

export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform !== 'linux' || hasLiveMember(pgid);
}

/**
 * Whether a member of the group has not exited. A member nobody reaped answers signal 0 but is
 * gone: a detached model host whose server was stopped first is left to pid 1, and in a container
 * that is often not an init that reaps. Linux (/proc).
 */
function hasLiveMember(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Exited while we looked.
    }
    // After the command's name in parentheses: state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts a command as the leader of a new process group (setsid). */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions = {}): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`Could not start ${command}.`);
  const pgid = child.pid;
  liveGroups.add(pgid);
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  return { pgid, exited, output: () => log };
}

/** SIGTERM to the whole group, SIGKILL after a grace period; resolves when no member is left. */
export async function stopGroup(pgid: number, graceMs = 5000): Promise<void> {
  killGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isGroupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (isGroupAlive(pgid)) {
    killGroup(pgid, 'SIGKILL');
    const hardDeadline = Date.now() + 5000;
    while (isGroupAlive(pgid) && Date.now() < hardDeadline) await sleep(100);
  }
  liveGroups.delete(pgid);
}

const cleanups: Array<() => Promise<void> | void> = [];
let signalExitCode: number | null = null;

/** Work to finish before the process exits on Ctrl-C or a kill (the groups are stopped after it). */
export function onSignalCleanup(work: () => Promise<void> | void): void {
  cleanups.push(work);
}

/** The exit code after a signal; default 128 + the signal's number. */
export function setSignalExitCode(code: number): void {
  signalExitCode = code;
}

// On Ctrl-C, a kill or a crash, take every group we started down with us: gently on a signal,
// at once when the process exits for any other reason.
function killAllNow(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}
process.on('exit', killAllNow);
const signalNumbers = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let stopping = false;
for (const signal of Object.keys(signalNumbers) as (keyof typeof signalNumbers)[]) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      for (const work of cleanups.reverse())
        await Promise.resolve()
          .then(work)
          .catch(() => undefined);
      await Promise.all([...liveGroups].map((pgid) => stopGroup(pgid, 3000)));
    })().finally(() => process.exit(signalExitCode ?? 128 + signalNumbers[signal]));
  });
}
