// The engine interface: what the model driver asks of whatever runs the model. Two kinds stand
// behind it: the local model host (local/) and a model server over HTTP (http/). Everything
// above it (gate, prompt, cache, post-processing, chat history, status) is the same for both, and
// never asks which one it has: what differs (a shared host's sleep, its memory figures) comes as
// results of these calls.
import type { Event } from 'vscode-jsonrpc';
import type {
  ChatGenerateParams,
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  PrefillParams,
  PrefillResult,
  LoadResult,
  SaveStateParams,
  SaveStateResult,
} from '../host/protocol';
import type { Backend, EngineKind, EngineServerState } from '../shared/protocol';

export type { EngineKind, EngineServerState };

/** How an engine ended: the local host's exit, or a remote engine that was let go. */
export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (shutdown or kill), or it ended in a sleep it announced. */
  expected: boolean;
  /** True when it was killed for missing a deadline (expected is false then). */
  hung: boolean;
  /** One human sentence saying what happened. */
  message: string;
}

/** How this window's sleep left the engine. */
export interface EngineSleep {
  /** The engine lives on (a light sleep): the wake loads into it again. */
  kept: boolean;
  /** Memory figures after a light sleep this window asked for; null otherwise. */
  stats: HostStats | null;
}

/** What a sleep needs from the driver. */
export interface SleepParams {
  /** Deep: the engine ends; light: it frees the model and stays. */
  deep: boolean;
  /** How long a deep sleep waits for the engine to end by itself. */
  shutdownMs: number;
  /** Keeps what can be kept across the sleep; runs only when the sleep is this window's own. */
  save(): Promise<void>;
}

/** The model as loaded; a server does not say which backend it runs on. */
export interface EngineLoadResult extends Omit<LoadResult, 'backend'> {
  backend: Backend | null;
}

/** The engine's model cannot fill in the middle (a server's model without FIM tokens). */
export class NoFimError extends Error {}

/** What a model server says about itself, for status; the local host has none. */
export interface RemoteView {
  kind: EngineKind;
  url: string;
  /** The server's own sleep, from its status endpoint; null when it has none. */
  server: EngineServerState | null;
  /** The last failure in one sentence; null after a success. */
  error: string | null;
  /** Sleep Now reaches the server (its model can be unloaded from here). */
  canSleep: boolean;
}

export interface Engine {
  /** `local` for the host; a server's kind once its load found it. */
  readonly kind: EngineKind;
  /** The local host's process; undefined for a server. */
  readonly pid: number | undefined;
  /** Resident memory of the engine's process on this machine; null for a server. */
  rssBytes(): number | null;
  /**
   * The engine's own figure of its RSS before its first load (a host shared with other windows
   * keeps one, so every window says the same); null when it has none.
   */
  baselineRssBytes(): number | null;
  /** Whether these load settings are for this engine; false: a new engine serves the load. */
  serves(params: LoadParams): boolean;
  /** Null while the engine can be used. */
  readonly exit: EngineExit | null;
  /** Fires once when the engine ends, for whatever reason. */
  readonly onExit: Event<EngineExit>;
  /**
   * Load state: the model loaded and ready (a server: found and described, never woken). Rejects
   * ModelLeftError when the engine was ending in a sleep decided elsewhere: a new engine serves
   * the load.
   */
  load(params: LoadParams, signal?: AbortSignal): Promise<EngineLoadResult>;
  /** Before a sleep: keep what can be kept across it. */
  saveState(params: SaveStateParams): Promise<SaveStateResult>;
  /** Light sleep: free the model, keep the engine. */
  unload(): Promise<HostStats>;
  /**
   * This window's sleep: its own (save, then shut down or unload), or one the engine already
   * follows (a shared host that another window, or the idle time of all, put to sleep).
   */
  sleep(params: SleepParams): Promise<EngineSleep>;
  /** What the sleep just begun freed, as the engine measured it itself; null when it says nothing of it. */
  sleepFreedRss(): Promise<number | null>;
  /**
   * Fill in the middle. A cancelled request answers stopReason abort. A generation rejects
   * ModelLeftError when the model left under it in a sleep decided elsewhere (the gate runs it
   * again after the wake).
   */
  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult>;
  /**
   * Evaluates a completion prompt into the cache without generating (the context ring while the
   * user pauses); stops at a safe point when cancelled. A server keeps its own prompt cache.
   */
  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult>;
  /** One chat answer, streamed through onChunk. A cancelled one answers stopReason abort with what came. */
  chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult>;
  /** Memory figures (a server: none of this machine's). */
  stats(): Promise<HostStats>;
  /** Deep sleep or the end: the engine lets everything go; resolves once it has. */
  shutdown(timeoutMs?: number): Promise<EngineExit>;
  /** This window lets go: a host shared with other windows stays for them, any other engine ends. */
  detach(): Promise<EngineExit>;
  /** Ends the engine at once, as an expected end. */
  kill(): Promise<EngineExit>;
  /** A server's own view; null for the local host. */
  remote(): RemoteView | null;
}
