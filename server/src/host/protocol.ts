// Messages between the language server and its model host child (vscode-jsonrpc over Node IPC).
// The host owns node-llama-cpp and nothing else; it keeps no state the server cannot rebuild.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { Backend, ModelInfo, PromptPart, StopReason, TokenFigures } from '../shared/protocol';
import type { GpuChoice } from '../shared/settings';

export interface LoadParams {
  modelPath: string;
  gpu: GpuChoice;
  gpuLayers: 'auto' | number;
  contextSize: number;
  /** Real core count already resolved by the server (never 0). */
  threads: number;
  /** Where the sequences' state is kept across sleep (sequenceState.ts); null keeps none. */
  stateDir?: string | null;
}

export interface SaveStateParams {
  /** The state folder's cap in bytes; the oldest files go first. */
  capBytes: number;
}

export interface SaveStateResult {
  /** The sequences saved, with their token count and file size. */
  saved: Array<{ kind: 'completion' | 'chat'; tokens: number; bytes: number }>;
}

/** The model as loaded: the server adds the path it asked for. */
export interface LoadResult extends Omit<ModelInfo, 'path' | 'backend'> {
  /** Never null here: a load always runs on some backend. */
  backend: Backend;
  /** Set when the requested GPU backend could not be used and the CPU was used instead. */
  fallbackReason: string | null;
}

export interface InfillParams {
  /**
   * Text before the cursor line (whole lines). It goes before the FIM suffix token, so it must stay
   * byte-identical while the user types along a line; the host cuts it, when it is over budget,
   * at a line start that stays put as lines are added.
   */
  prefix: string;
  /** The cursor line up to the cursor: placed after the FIM middle token, the only part that changes per keystroke. */
  middle: string;
  /** Text after the cursor; the host keeps only its first `suffixTokens` tokens. */
  suffix: string;
  /** Budget of `prefix` and `middle` together. */
  prefixTokens: number;
  suffixTokens: number;
  maxTokens: number;
  /** Stop once the text holds this many line breaks. */
  maxLines: number;
  /** Stop when the text produces one of these (e.g. the start of the suffix, repeated). */
  stopTexts: string[];
  /** Chunks from beyond the file that go before its prompt; none when absent. */
  context?: InfillContext;
  /** Generation stops this many ms after the host began the request (prompt included); 0 or absent: no cap. */
  maxMs?: number;
  /** Answer with the prompt's parts, control tokens written out (for localLlm/lastCompletionPrompt). */
  describePrompt?: boolean;
  /**
   * Nobody waits for it (the next suggestion): a host shared by several windows runs it only for
   * the window the user is in (completionPriority.ts), and it does not make its window that one.
   */
  background?: boolean;
}

export interface InfillContextChunk {
  /** Workspace-relative path, '' for copied text. */
  path: string;
  text: string;
  /** 0-based; -1 when it has no place in a file. */
  startLine: number;
}

/** The context ring as the host lays it out (server/src/host/llama/promptLayout.ts). */
export interface InfillContext {
  /** Oldest first; the host drops the oldest that do not fit `budgetTokens`. */
  chunks: InfillContextChunk[];
  budgetTokens: number;
  /** The workspace's name, for the repository header. */
  repoName: string;
  /** The current file's workspace-relative path. */
  currentPath: string;
  /** The current language's line comment, for models without repository tokens. */
  commentPrefix: string;
}

/** The prompt an infill would use, evaluated into the completion sequence and nothing generated. */
export type PrefillParams = Omit<InfillParams, 'maxTokens' | 'maxLines' | 'stopTexts' | 'maxMs' | 'describePrompt' | 'background'> & {
  maxTokens: number;
};

export interface PrefillResult {
  /** Tokens of the prompt, the cursor line's included. */
  promptTokens: number;
  evaluatedTokens: number;
  /** Stopped at a safe point because it was cancelled (a keystroke came). */
  stopped: boolean;
  /** Not run, or stopped, because the user is in another window that shares the model host: not worth trying again. */
  yielded?: boolean;
}

export interface GenerationResult {
  text: string;
  stopReason: StopReason;
  /** Tokens generated; may be maxTokens + 1 when the last one completed a UTF-8 character. */
  tokens: number;
  /** Prompt tokens evaluated and reused, and speed; all zero for a request that never ran. */
  figures: TokenFigures;
  /** Generation stopped at InfillParams.maxMs (stopReason is then abort); the text is what was ready. */
  capped?: boolean;
  /** The prompt's parts, when InfillParams.describePrompt asked for them. */
  prompt?: PromptPart[];
  /** Context chunks that went into the prompt. */
  contextChunks?: number;
  /** Aborted, or never run, because the user asked for a completion in another window that shares the model host (stopReason abort). */
  yielded?: boolean;
}

/** The figures of a request that evaluated and generated nothing. */
export const noFigures: TokenFigures = {
  promptTokens: 0,
  evaluatedTokens: 0,
  reusedTokens: 0,
  generatedTokens: 0,
  tokensPerSecond: null,
  ms: 0,
};

export interface HostChatMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

export interface ChatGenerateParams {
  /** Stream id, echoed in each ChatChunk notification. */
  streamId: number;
  /** Whole conversation; the last message is the user's new turn. */
  messages: HostChatMessage[];
  maxTokens: number;
}

export interface ChatChunkParams {
  streamId: number;
  text: string;
}

export interface HostStats {
  rssBytes: number;
  /** The GPU's used memory as the llama.cpp backend reports it (the whole device); null on the CPU. */
  vramUsedBytes: number | null;
  vramTotalBytes: number | null;
  /** Whether a model is loaded right now. */
  loaded: boolean;
}

/** Load the model and create the context. Fails with a human message in the error. */
export const loadRequest = new RequestType<LoadParams, LoadResult, void>('host/load');
/** Light sleep: abort nothing, wait for a running generation, then dispose context and model. */
export const unloadRequest = new RequestType0<HostStats, void>('host/unload');
/** Before a sleep: save the sequences' state to the load's stateDir. A failure costs the reuse only and is answered, logged, not thrown. */
export const saveStateRequest = new RequestType<SaveStateParams, SaveStateResult, void>('host/saveState');
/** Fill in the middle; cancellable with $/cancelRequest. */
export const infillRequest = new RequestType<InfillParams, GenerationResult, void>('host/infill');
/** Evaluate an infill's prompt in small batches, stopping at the next one when cancelled; generates nothing. */
export const prefillRequest = new RequestType<PrefillParams, PrefillResult, void>('host/prefill');
/** One chat answer over the given messages; streams ChatChunk; cancellable. */
export const chatRequest = new RequestType<ChatGenerateParams, GenerationResult, void>('host/chat');
export const chatChunkNotification = new NotificationType<ChatChunkParams>('host/chatChunk');
/** RSS and VRAM of the host process. */
export const statsRequest = new RequestType0<HostStats, void>('host/stats');
/** Answered at once by the host's event loop, which stays free while native code loads or
 * generates: the server's check that the host still runs. */
export const pingRequest = new RequestType0<void, void>('host/ping');
/** Dispose everything and exit the process. */
export const shutdownRequest = new RequestType0<void, void>('host/shutdown');

// The shared host (sharedHost.ts): one host per user and model serves every language server that
// attaches to its socket. These messages exist only on that socket.

export interface HelloParams {
  /** The language server's pid, for the host's log. */
  clientPid: number;
  /** This window's sleepIdleSeconds in ms; 0 = this window never asks for sleep. */
  idleMs: number;
  sleepMode: 'deep' | 'light';
  /** localLlm.stateCacheMB in bytes: what the host may keep across a sleep it decides itself. */
  stateCapBytes: number;
}

/** The shared model's state as the host sees it, sent to every client on each change. */
export interface SharedHostState {
  /** empty: nothing loaded yet; sleeping: going to sleep or asleep (light). */
  state: 'empty' | 'loading' | 'ready' | 'sleeping';
  /** The sleep came from "Sleep Now" in some window. */
  byUser: boolean;
  /** The sleep ends the process (deep). */
  deep: boolean;
  /** Language servers attached. */
  clients: number;
  /** Model loads this host has done. */
  loads: number;
  /** Until the shared idle sleep, as of sending; null when not ready or no window asks for sleep. */
  idleMsLeft: number | null;
  hostPid: number;
  /**
   * The host's RSS just before its first load: the pre-load baseline, which a window that
   * attached after the load cannot measure itself. Null until a load starts.
   */
  baselineRssBytes: number | null;
  /**
   * The host's RSS as its current sleep began, and once a light sleep has freed the model (null
   * until then; a deep sleep ends the process, which returns all of it). Every window reports
   * what the sleep freed from these, whichever window asked for it. Null while not asleep.
   */
  sleepRssBytes: { before: number; after: number | null } | null;
}

/** First message of a client on the socket; answers the state. */
export const helloRequest = new RequestType<HelloParams, SharedHostState, void>('host/hello');
/** The client's idle time, sleep mode or state cap changed. */
export const configureNotification = new NotificationType<Omit<HelloParams, 'clientPid'>>('host/configure');
/** Editor activity in the client's window (throttled by the client). */
export const activityNotification = new NotificationType<void>('host/activity');
/** Host -> every client: the shared state changed. */
export const stateNotification = new NotificationType<SharedHostState>('host/state');
/** Host -> every client: a line of the host's log. */
export const logNotification = new NotificationType<string>('host/log');
