// The engine interface: what the model driver asks of whatever runs the model. Two kinds stand
// behind it: the local model host (local.ts) and a model server over HTTP (http/). Everything
// above it (gate, prompt, cache, post-processing, chat history, status) is the same for both.
import type { Event } from 'vscode-jsonrpc';
import type { HostExit } from '../host/hostProcess';
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
export type EngineExit = HostExit;

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
  /** Null while the engine can be used. */
  readonly exit: EngineExit | null;
  /** Fires once when the engine ends, for whatever reason. */
  readonly onExit: Event<EngineExit>;
  /** Load state: the model loaded and ready (a server: found and described, never woken). */
  load(params: LoadParams, signal?: AbortSignal): Promise<EngineLoadResult>;
  /** Before a sleep: keep what can be kept across it. */
  saveState(params: SaveStateParams): Promise<SaveStateResult>;
  /** Light sleep: free the model, keep the engine. */
  unload(): Promise<HostStats>;
  /** Fill in the middle. A cancelled request answers stopReason abort. */
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
  detach(timeoutMs?: number): Promise<EngineExit>;
  /** Ends the engine at once, as an expected end. */
  kill(): Promise<EngineExit>;
  /** A server's own view; null for the local host. */
  remote(): RemoteView | null;
}
