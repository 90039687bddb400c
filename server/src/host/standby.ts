// The standby of a deep sleep: as the host exits, it starts a new host process that loads what can
// be loaded without a model and without a GPU context (node-llama-cpp, and on the CPU its backend),
// reads the model file once so that it stays in the page cache, and listens where the windows
// meet. The next wake attaches to it and skips the process start and the library loading. Windows
// in deep sleep keep it alive (watchRequest); it ends a grace period after the last one left, at
// once when a window turns the standby off, and a crash of it costs only that: the next wake
// starts a new host as before.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { errorMessage } from '../shared/errors';
import { processPresence } from '../shared/processes';
import type { HostIdentity, RendezvousPaths } from '../shared/rendezvous';
import type { LlamaEngine } from './llama/llamaEngine';
import { checkModelFile } from './llama/modelFile';

/** Set in a standby host's environment: the pids of the language servers it stands by for, comma-separated. */
export const standbyVariable = 'LOCAL_LLM_HOST_STANDBY';

/** Read size while warming the model file; small enough that a load never waits long behind one read. */
const chunkBytes = 4 * 1024 * 1024;

/** Starts the standby host, detached, logging where this host logs. Never throws: without a standby the next wake starts a host as before. */
export function spawnStandby(paths: RendezvousPaths, windowPids: number[], log: (line: string) => void): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let logFd: number | undefined;
  try {
    logFd = openSync(paths.log, 'a', 0o600);
    const child = spawn(process.execPath, [...process.execArgv, script], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      windowsHide: true,
      env: { ...process.env, [standbyVariable]: windowPids.join(',') },
    });
    child.on('error', (err) => log(`The standby host could not be started: ${err.message}`));
    child.unref();
    log(`Standby host ${child.pid ?? '?'} started for the next wake (no model, no GPU context).`);
  } catch (err) {
    log(`The standby host could not be started: ${errorMessage(err)}`);
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
}

/** The window pids a standby host was started for (its environment); null in a host that is no standby. */
export function standbyWindows(env: NodeJS.ProcessEnv): number[] | null {
  const value = env[standbyVariable];
  if (value === undefined) return null;
  return value
    .split(',')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * Calls `gone` once none of the windows a standby was started for runs any more, checked every
 * `everyMs`: a window that closed before it found the standby cannot let go of it. Returns the stop.
 */
export function whenWindowsGone(pids: number[], gone: () => void, everyMs = 500): () => void {
  const timer = setInterval(() => {
    if (pids.some((pid) => processPresence(pid) !== 'none')) return;
    clearInterval(timer);
    gone();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** What the standby did before any wake, for its log line and the wake's breakdown. */
export interface StandbyWarmth {
  importMs: number | null;
  /** null: the backend would use a GPU, so it is left for the load (a GPU backend makes a device context). */
  getLlamaMs: number | null;
  /** The model file's header checks, run once so that their code is compiled when the wake runs them; null when skipped or failed. */
  checkMs: number | null;
  /** Bytes of the model file read into the page cache; null when the read stopped or failed. */
  readBytes: number | null;
  readMs: number;
}

/**
 * The standby's warm-up: the import (already under way), the backend when that touches no GPU,
 * then one read through the model file. Aborting `signal` (a load began) stops the read; the
 * file is closed before this returns, so the standby never holds it.
 */
export async function warmStandby(engine: LlamaEngine, identity: HostIdentity, signal: AbortSignal): Promise<StandbyWarmth> {
  await engine.ready();
  let getLlamaMs: number | null = null;
  if (!signal.aborted) {
    const started = performance.now();
    if (await engine.prestartBackend(identity.gpu, identity.threads)) getLlamaMs = performance.now() - started;
  }
  const checkMs = signal.aborted ? null : await rehearseCheck(identity.modelPath);
  const readStarted = performance.now();
  const readBytes = signal.aborted ? null : await readThrough(identity.modelPath, signal);
  return { importMs: engine.importMs, getLlamaMs, checkMs, readBytes, readMs: performance.now() - readStarted };
}

export function describeWarmth(w: StandbyWarmth): string {
  const backend =
    w.getLlamaMs === null
      ? 'backend left for the wake (a GPU backend would hold a device context)'
      : `CPU backend ${Math.round(w.getLlamaMs)} ms`;
  const read =
    w.readBytes === null
      ? 'model file not read (a load began)'
      : `model file read into the page cache (${Math.round(w.readBytes / 1048576)} MB in ${Math.round(w.readMs)} ms)`;
  const check = w.checkMs === null ? 'no header check' : `header checks rehearsed ${Math.round(w.checkMs)} ms`;
  return `Standby host ready: node-llama-cpp import ${w.importMs === null ? '?' : Math.round(w.importMs)} ms, ${backend}, ${check}, ${read}.`;
}

/**
 * Runs the model file's header checks once and drops the result. A shape-true model's header
 * holds its whole vocabulary (152k tokens): parsed by code not compiled yet, it took 1.4 s instead
 * of 0.6 s on the shared 2-core machine, and the wake parses it twice (the check, and node-llama-cpp's
 * load). What the parse allocated is collected at once, so the standby stays small.
 */
async function rehearseCheck(modelPath: string): Promise<number | null> {
  const started = performance.now();
  try {
    await checkModelFile(modelPath, await import('node-llama-cpp'));
    return performance.now() - started;
  } catch {
    return null;
  } finally {
    (globalThis as { gc?: () => void }).gc?.();
  }
}

/** Reads the file once, a chunk at a time with the event loop free between chunks; null when stopped or failed. */
async function readThrough(file: string, signal: AbortSignal): Promise<number | null> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let total = 0;
    for (;;) {
      if (signal.aborted) return null;
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
      await yieldToEvents();
    }
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
