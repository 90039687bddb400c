// Where language servers find the shared model host: a per-user directory only the user can enter,
// and in it one socket (a named pipe on Windows), lock, log and description per model identity
// and load settings. Windows that ask for the same model with the same settings meet at the same
// socket; any other setting is another host. Pure node: no node-llama-cpp.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuChoice } from './settings';
import { processPresence } from './processes';

/** What makes two windows able to share one host: the model file and every load setting. */
export interface HostIdentity {
  modelPath: string;
  gpu: GpuChoice;
  gpuLayers: 'auto' | number;
  contextSize: number;
  /** Already resolved (never 0). */
  threads: number;
}

export interface RendezvousPaths {
  dir: string;
  /** The host listens here. */
  socket: string;
  /** Held by the one host of this identity for its whole life (pidLock.ts). */
  lock: string;
  /** The detached host's stdout and stderr. */
  log: string;
  /** The identity the host serves, for other windows to say why they do not share it. */
  description: string;
}

/** The description file a host writes next to its socket. */
export interface HostDescription extends HostIdentity {
  pid: number;
}

/**
 * The per-user directory. LOCAL_LLM_RUNTIME_DIR wins (tests give each server its own); on Linux
 * $XDG_RUNTIME_DIR (already private to the user, cleared at logout); else the temp folder, with
 * the user id in the name so that users do not collide.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['LOCAL_LLM_RUNTIME_DIR'];
  if (explicit) return explicit;
  const xdg = env['XDG_RUNTIME_DIR'];
  if (process.platform === 'linux' && xdg && path.isAbsolute(xdg)) return path.join(xdg, 'local-llm');
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username.replace(/[^\w.-]/g, '_');
  return path.join(os.tmpdir(), `local-llm-${user}`);
}

/**
 * Creates the directory with mode 0700 and checks that it is ours, a real directory (not a
 * link someone planted) and closed to others; a loose mode of our own directory is tightened.
 * Throws a sentence otherwise: sharing a model host through a directory others can enter would
 * let them drive it.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw new Error(`${dir} is not a directory, so no model host can be shared through it.`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new Error(`${dir} belongs to another user, so no model host can be shared through it.`);
  }
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** A short, stable name for an identity. The model path is compared as given (the server resolves it). */
export function hostKey(identity: HostIdentity): string {
  const canonical = JSON.stringify([identity.modelPath, identity.gpu, identity.gpuLayers, identity.contextSize, identity.threads]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function rendezvousPaths(dir: string, key: string): RendezvousPaths {
  const base = path.join(dir, `host-${key}`);
  // A named pipe lives in its own namespace; the directory's hash keeps users and test dirs apart.
  const socket =
    process.platform === 'win32'
      ? `\\\\.\\pipe\\local-llm-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}-${key}`
      : `${base}.sock`;
  return { dir, socket, lock: `${base}.lock`, log: `${base}.log`, description: `${base}.json` };
}

/** The hosts described in the directory whose process still runs, except the one with `exceptKey` (null: all of them). */
export function otherHosts(dir: string, exceptKey: string | null): HostDescription[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: HostDescription[] = [];
  for (const name of names) {
    const match = /^host-([0-9a-f]{16})\.json$/.exec(name);
    if (!match || match[1] === exceptKey) continue;
    try {
      const description = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as HostDescription;
      if (Number.isInteger(description.pid) && processPresence(description.pid) === 'ours') found.push(description);
    } catch {
      // Half-written or removed meanwhile: not a host to compare with.
    }
  }
  return found;
}

/**
 * Why this window does not share the host another window runs: the settings that differ, in
 * words, for the host with the fewest differences. Null when no other host runs.
 */
export function notSharedReason(mine: HostIdentity, others: readonly HostIdentity[]): string | null {
  let best: string[] | null = null;
  for (const other of others) {
    const differences: string[] = [];
    if (other.modelPath !== mine.modelPath) differences.push(`another model (${path.basename(other.modelPath)})`);
    if (other.gpu !== mine.gpu) differences.push(`gpu ${other.gpu} (here ${mine.gpu})`);
    if (other.gpuLayers !== mine.gpuLayers) differences.push(`gpuLayers ${other.gpuLayers} (here ${mine.gpuLayers})`);
    if (other.contextSize !== mine.contextSize) differences.push(`contextSize ${other.contextSize} (here ${mine.contextSize})`);
    if (other.threads !== mine.threads) differences.push(`threads ${other.threads} (here ${mine.threads})`);
    if (differences.length > 0 && (best === null || differences.length < best.length)) best = differences;
  }
  if (best === null) return null;
  return `Not shared with another window's model host: it uses ${best.join(', ')}.`;
}
