// The engine interface and its types: what the model driver asks of whatever runs the model. Two kinds stand
// behind it: the local model host (local/) and a model server over HTTP (http/). Everything
// above it (gate, prompt, cache, post-processing, chat history, status) is the same for both, and
// never asks which one it has: what differs (a shared host's sleep, its memory figures) comes as
// results of these calls.
import type { Event } from 'vscode-jsonrpc';
import type { Backend, EngineKind, EngineServerState, ModelInfo, PromptPart, StopReason, TokenFigures } from '../shared/protocol';
import type { DraftModelInfo } from '../shared/protocol';
import type { GpuChoice } from '../shared/settings';

export type { EngineKind, EngineServerState };

export interface LoadParams {
  modelPath: string;
  gpu: GpuChoice;
  gpuLayers: 'auto' | number;
  contextSize: number;
  /** Real core count already resolved by the server (never 0). */
  threads: number;
  /** Where the sequences' state is kept across sleep (sequenceState.ts); null keeps none. */
  stateDir?: string | null;
  /** Prompt-lookup drafts on both sequences (localLlm.completion.lookup); absent means on. */
  lookup?: boolean;
  /** #25: the chat model's file when it is not modelPath (localLlm.chat.model); absent or null: modelPath serves chat. */
  chatModelPath?: string | null;
  /**
   * With two models, which one the request that woke the model needs: it is loaded first and the
   * load answers once it is ready; the other loads behind it. Absent: the completion model.
   */
  first?: 'completion' | 'chat';
  /** The draft model's checked local file (localLlm.completion.draftModel); absent: none. */
  draftModelPath?: string;
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
  /** #25: the chat model, when LoadParams.chatModelPath named one; absent or null: this model serves chat. */
  chatModel?: ChatModelResult | null;
  /** The draft model loaded beside the model; absent or null when none is. */
  draftModel?: DraftModelInfo | null;
  /** Why the draft model asked for is not used (one sentence); the model serves without it. */
  draftRefusal?: string | null;
}

/** The chat model as loaded beside the completion model (#25). */
export type ChatModelResult = Omit<LoadResult, 'fallbackReason' | 'chatModel'>;

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
  /**
   * Sampled instead of greedy: another candidate of the same prompt (Show Next), which must
   * differ from the first and from the others. Absent: greedy, as every first suggestion.
   */
  sampling?: InfillSampling;
}

/** How another candidate of the same prompt is drawn: its temperature, and a seed of its own so that each differs. */
export interface InfillSampling {
  temperature: number;
  seed: number;
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

/** The answer of a prefill stopped (or not run) before it evaluated anything. */
export const stoppedPrefill: PrefillResult = { promptTokens: 0, evaluatedTokens: 0, stopped: true };

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

/** One chat answer: the whole conversation, the last message being the user's new turn. */
export interface ChatTurnParams {
  messages: HostChatMessage[];
  maxTokens: number;
}

export interface HostStats {
  rssBytes: number;
  /** The GPU's used memory as the llama.cpp backend reports it (the whole device); null on the CPU. */
  vramUsedBytes: number | null;
  vramTotalBytes: number | null;
  /** Whether a model is loaded right now. */
  loaded: boolean;
  /** Whether a draft model is loaded right now beside it; absent from hosts without draft models. */
  draftLoaded?: boolean;
}

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
  /**
   * Evaluates what `chat` with these params would evaluate before it generates (a draft the user
   * is still writing), generating nothing; stops at a safe point when cancelled. null: nothing was
   * evaluated ahead (a server without a prompt cache to fill, or one asleep, which a request would wake).
   */
  chatPrefill(params: ChatTurnParams, signal?: AbortSignal): Promise<PrefillResult | null>;
  /** One chat answer, streamed through onChunk. A cancelled one answers stopReason abort with what came. */
  chat(params: ChatTurnParams, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult>;
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
