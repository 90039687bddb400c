// Where language servers find the shared model host: a per-user directory only the user can enter,
// and in it one socket (a named pipe on Windows), lock, log and description per model identity
// and load settings. Windows that ask for the same model with the same settings meet at the same
// socket; any other setting is another host. Pure node: no node-llama-cpp.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuChoice } from './settings';
import { recordedProcessPresence } from './processes';

/** What makes two windows able to share one host: the model file and every load setting. */
export interface HostIdentity {
  modelPath: string;
  gpu: GpuChoice;
  gpuLayers: 'auto' | number;
  contextSize: number;
  /** Already resolved (never 0). */
  threads: number;
  /** The chat model's file when it is not modelPath (#25); absent or null: modelPath serves chat. */
  chatModelPath?: string | null;
  /** The draft model loaded beside the model (localLlm.completion.draftModel); absent: none. */
  draftModelPath?: string;
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
  /** processStartTime of the host: a description whose pid another process got since is stale (#24). */
  startTime?: string | null;
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

/** The rendezvous folder cannot be used: a setup failure, never a crash of a model host (none was started). */
export class RendezvousError extends Error {
  override readonly name = 'RendezvousError';
}

/**
 * Creates the directory with mode 0700 and checks that it is ours, a real directory (not a
 * link someone planted) and closed to others; a loose mode of our own directory is tightened.
 * Throws a RendezvousError sentence otherwise: sharing a model host through a directory others
 * can enter would let them drive it.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'an error';
    throw new RendezvousError(`${dir} cannot be created (${code}), so no model host can be shared through it.`, { cause: err });
  }
  if (process.platform === 'win32') return;
  const info = lstatSync(dir);
  if (!info.isDirectory()) throw new RendezvousError(`${dir} is not a directory, so no model host can be shared through it.`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new RendezvousError(`${dir} belongs to another user, so no model host can be shared through it.`);
  }
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/**
 * Where this user's windows meet when the usual folder is refused (another local user planted
 * it, or a link there): a folder under the user's own cache folder, which others cannot plant.
 */
export function fallbackRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env['XDG_CACHE_HOME'];
  const base = cache && path.isAbsolute(cache) ? cache : path.join(os.homedir(), '.cache');
  return path.join(base, 'local-llm', 'run');
}

export interface PrivateRuntimeDir {
  dir: string;
  /** Why the usual folder was passed over, in a sentence for the log; null when it is used. */
  fallbackReason: string | null;
}

/**
 * The folder to meet in, created and checked (ensurePrivateDir). When the usual one is refused,
 * every window of this user makes the same choice: fallbackRuntimeDir, checked the same way. An
 * explicit LOCAL_LLM_RUNTIME_DIR has no fallback. Throws a RendezvousError when nothing is usable.
 */
export function privateRuntimeDir(env: NodeJS.ProcessEnv = process.env): PrivateRuntimeDir {
  const dir = runtimeDir(env);
  try {
    ensurePrivateDir(dir);
    return { dir, fallbackReason: null };
  } catch (err) {
    if (env['LOCAL_LLM_RUNTIME_DIR'] || !(err instanceof RendezvousError)) throw err;
    const fallback = fallbackRuntimeDir(env);
    try {
      ensurePrivateDir(fallback);
    } catch (second) {
      throw new RendezvousError(`${err.message} ${second instanceof Error ? second.message : String(second)}`, { cause: second });
    }
    return { dir: fallback, fallbackReason: `${err.message} The model host is shared through ${fallback} instead.` };
  }
}

/** privateRuntimeDir's folder for those who only look there (a peek, a wait); null when none is usable. */
export function usableRuntimeDir(env: NodeJS.ProcessEnv = process.env): string | null {
  try {
    return privateRuntimeDir(env).dir;
  } catch {
    return null;
  }
}

/** A short, stable name for an identity. The model path is compared as given (the server resolves it). */
export function hostKey(identity: HostIdentity): string {
  const fields: unknown[] = [identity.modelPath, identity.gpu, identity.gpuLayers, identity.contextSize, identity.threads];
  // Only when set, so that a host of one model keeps the key (and the socket) it always had.
  if (identity.chatModelPath) fields.push(identity.chatModelPath);
  const canonical = JSON.stringify(fields);
  // Without a draft model the key is what it was before draft models existed.
  if (identity.draftModelPath) return createHash('sha256').update(`${canonical}\0${identity.draftModelPath}`).digest('hex').slice(0, 16);
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
      const startTime = typeof description.startTime === 'string' ? description.startTime : null;
      if (Number.isInteger(description.pid) && recordedProcessPresence(description.pid, startTime) === 'ours') found.push(description);
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
    if ((other.chatModelPath ?? null) !== (mine.chatModelPath ?? null)) {
      differences.push(other.chatModelPath ? `another chat model (${path.basename(other.chatModelPath)})` : 'no chat model of its own');
    }
    if ((other.draftModelPath ?? '') !== (mine.draftModelPath ?? '')) {
      differences.push(other.draftModelPath ? `the draft model ${path.basename(other.draftModelPath)}` : 'no draft model');
    }
    if (differences.length > 0 && (best === null || differences.length < best.length)) best = differences;
  }
  if (best === null) return null;
  return `Not shared with another window's model host: it uses ${best.join(', ')}.`;
}
