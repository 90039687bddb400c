// A language server's way to the shared model host: connect to the socket of its model identity,
// and when nobody listens there, start the host as a detached process (it must outlive no window
// needlessly, but must not die with the one that started it) and connect once it listens. Two
// servers that do this at the same instant both start a host; the host's lock lets one of them
// live, and both servers end up connected to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';
import { delay } from '../../shared/cancellation';
import { formatTimeSpan } from '../../shared/format';
import { processPresence } from '../../shared/processes';
import { clearDeadLock, holderPresence, lockHolder } from '../../shared/pidLock';
import { statsRequest } from '../../host/protocol';
import {
  hostKey,
  privateRuntimeDir,
  rendezvousPaths,
  usableRuntimeDir,
  type HostIdentity,
  type RendezvousPaths,
} from '../../shared/rendezvous';

export interface AttachOptions {
  hostPath: string;
  identity: HostIdentity;
  env: NodeJS.ProcessEnv;
  /** Give up after this long (the host's import of node-llama-cpp included). */
  deadlineMs: number;
  /**
   * A host this server started that does not listen within this long is hung (stopped, or stuck
   * before its first line of JavaScript ran to the listen): it is killed and the attach fails as a
   * hang. The same bound as a hung host after its hello (the heartbeat's stats deadline). Default:
   * deadlineMs.
   */
  listenMs?: number;
  /** Ends the attach: a host it started that does not listen yet is killed (nobody else can use it). */
  signal?: AbortSignal;
  log(line: string): void;
}

/** The host this attach started hung before it listened, and was killed: no crash, a hang (#24). */
export class HostStartHungError extends Error {
  override readonly name = 'HostStartHungError';
}

export interface Attached {
  socket: net.Socket;
  paths: RendezvousPaths;
  /** The host process, when this server started the one it reached (its exit code and signal can be known). */
  child: ChildProcess | null;
}

/**
 * glibc raises its trim threshold after large frees and then keeps freed heap for reuse, which
 * left 20-40 MB of each unloaded model in RSS. A fixed threshold gives it back to the system
 * (measured: 8 load/unload cycles of a 270 MB model ended within 2 MB of the pre-load RSS).
 */
const mallocTrimThreshold = String(128 * 1024);
/** Hosts this server may start in one attach before it gives up (each lost race costs one). */
const maxStarts = 5;

/** Connects, or says why not: 'absent' (no socket file), 'refused' (a dead host's socket). */
export function connectSocket(socketPath: string): Promise<net.Socket | 'absent' | 'refused'> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      resolve(err.code === 'ENOENT' ? 'absent' : 'refused');
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** A log over this size starts afresh when a new host starts. */
const logCapBytes = 1024 * 1024;

function startHost(options: AttachOptions, paths: RendezvousPaths): ChildProcess {
  const { env } = options;
  let size = 0;
  try {
    size = statSync(paths.log).size;
  } catch {
    // No log yet.
  }
  const logFd = openSync(paths.log, size > logCapBytes ? 'w' : 'a', 0o600);
  try {
    const child = spawn(process.execPath, ['--expose-gc', options.hostPath], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      windowsHide: true,
      env: {
        ...env,
        MALLOC_TRIM_THRESHOLD_: env['MALLOC_TRIM_THRESHOLD_'] ?? mallocTrimThreshold,
        LOCAL_LLM_HOST_DIR: paths.dir,
        LOCAL_LLM_HOST_IDENTITY: JSON.stringify(options.identity),
      },
    });
    child.on('error', (err) => options.log(`The model host could not be started: ${err.message}`));
    // The host lives on its own: this server's event loop must not wait for it.
    child.unref();
    return child;
  } finally {
    closeSync(logFd);
  }
}

/** The last lines of the host's log, for a sentence about why it ended. */
export function logTail(logPath: string, bytes = 4096): string[] {
  try {
    const size = statSync(logPath).size;
    const text = readFileSync(logPath, 'utf8');
    return text
      .slice(Math.max(0, size - bytes))
      .split('\n')
      .filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/** Connects to the shared host of `identity`, starting it when none runs. Throws a sentence. */
export async function attachSharedHost(options: AttachOptions): Promise<Attached> {
  // A refused folder falls back to one every window of this user picks the same way (#24).
  const { dir, fallbackReason } = privateRuntimeDir(options.env);
  if (fallbackReason !== null) options.log(fallbackReason);
  const paths = rendezvousPaths(dir, hostKey(options.identity));
  const started = Date.now();
  const cancel = options.signal;
  const listenMs = options.listenMs ?? options.deadlineMs;
  let child: ChildProcess | null = null;
  let spawnedAt = 0;
  // Set by the exit event of the host this server started last.
  const ended: { status: { code: number | null; signal: NodeJS.Signals | null } | null } = { status: null };
  let starts = 0;
  let wait = 20;
  for (;;) {
    const result = await connectSocket(paths.socket);
    const childEnded = ended.status;
    if (typeof result !== 'string') {
      if (!cancel?.aborted) return { socket: result, paths, child: childEnded ? null : child };
      result.destroy();
    }
    if (cancel?.aborted) {
      // A host that listens may serve another window by now; its grace ends it if nobody attaches.
      if (child && childEnded === null && typeof result === 'string') {
        child.kill('SIGKILL');
        if (child.pid !== undefined) void removeKilledHostFiles(paths, child.pid);
      }
      throw new Error('Starting the model host was cancelled.');
    }
    if (child === null || childEnded !== null) {
      if (childEnded !== null && childEnded.code !== 0) {
        const detail = logTail(paths.log)
          .reverse()
          .find((l) => /error|fail|abort|cannot|could not/i.test(l));
        throw new Error(
          `The model host could not start (exit code ${childEnded.code ?? childEnded.signal})${detail ? `: ${detail}` : '.'}`,
        );
      }
      if (starts >= maxStarts) throw new Error(`The model host did not start after ${starts} tries; see ${paths.log}.`);
      starts++;
      ended.status = null;
      const spawned: ChildProcess = startHost(options, paths);
      child = spawned;
      spawned.once('exit', (code, signal) => {
        if (child === spawned) ended.status = { code, signal };
      });
      spawnedAt = Date.now();
      wait = 20;
    } else if (Date.now() - spawnedAt > listenMs) {
      // Its pid is ours to end: the host never said hello, so nobody else knows it (#24).
      child.kill('SIGKILL');
      if (child.pid !== undefined) void removeKilledHostFiles(paths, child.pid);
      throw new HostStartHungError(
        `The model host did not start listening within ${formatTimeSpan(listenMs)}, so it was stopped; the next request starts a new one.`,
      );
    }
    if (Date.now() - started > options.deadlineMs) {
      throw new Error(`The model host did not start listening within ${formatTimeSpan(options.deadlineMs)}; see ${paths.log}.`);
    }
    await delay(wait, cancel).catch(() => undefined);
    wait = Math.min(250, wait * 2);
  }
}

/**
 * Whether a shared host of `identity` runs with its model loaded, asked without attaching (and
 * without starting one): a deep-sleeping window learns so that another window woke the model.
 */
export async function peekSharedHost(identity: HostIdentity, env: NodeJS.ProcessEnv, timeoutMs = 2000): Promise<boolean> {
  const dir = usableRuntimeDir(env);
  if (dir === null) return false;
  const paths = rendezvousPaths(dir, hostKey(identity));
  const socket = await connectSocket(paths.socket);
  if (typeof socket === 'string') return false;
  const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  connection.onError(() => undefined);
  socket.on('error', () => undefined);
  connection.listen();
  let timer: NodeJS.Timeout | undefined;
  try {
    const stats = await Promise.race([
      connection.sendRequest(statsRequest),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs))),
    ]);
    return stats?.loaded === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    connection.dispose();
    socket.destroy();
  }
}

/**
 * A host that closed a connection before its hello is exiting (a deep sleep, its grace period):
 * waits until it gives up the rendezvous lock (it does so before it frees the model), at most
 * `timeoutMs`, so that the next attach starts a new host instead of meeting the old one again.
 */
export async function waitForExitingHost(identity: HostIdentity, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const dir = usableRuntimeDir(env);
  if (dir === null) return;
  const { lock } = rendezvousPaths(dir, hostKey(identity));
  const holder = lockHolder(lock);
  if (holder === null) return;
  const deadline = Date.now() + timeoutMs;
  while (lockHolder(lock)?.pid === holder.pid && holderPresence(holder) === 'ours' && Date.now() < deadline) await delay(50);
}

/** How long a killed host may take to be gone before its files are left to the next host's takeover. */
const killedHostGoneMs = 5000;

/**
 * A shared host this server killed (hung, or its load failed and the model changed) cannot remove
 * its socket, lock and description: once the process is gone, they are removed here, unless a
 * new host has taken the lock over meanwhile (#24). The log stays, for whoever reads what happened.
 */
export async function removeKilledHostFiles(paths: RendezvousPaths, pid: number): Promise<boolean> {
  const deadline = Date.now() + killedHostGoneMs;
  while (processPresence(pid) !== 'none') {
    if (Date.now() > deadline) return false;
    await new Promise<void>((resolve) => setTimeout(resolve, 25).unref());
  }
  return clearDeadLock(paths.lock, pid, () => {
    if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
    if (describedPid(paths.description) === pid) rmSync(paths.description, { force: true });
  });
}

function describedPid(file: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}
