// The custom part of the protocol between the VS Code client (or any LSP client) and the server.
// Standard LSP is used wherever it has the method; everything here is `localLlm/*`.
// Both sides import this file, so a changed message fails to compile on both.
import {
  NotificationType,
  ProtocolRequestType,
  RequestType,
  RequestType0,
  type PartialResultParams,
  type WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';

/** States of the model behind the resume gate (DESIGN.md, "The sleep state machine"). */
export type ModelState = 'loading' | 'ready' | 'sleeping' | 'waking' | 'error';

export type Backend = 'cpu' | 'cuda' | 'metal' | 'vulkan';
export type SleepMode = 'deep' | 'light';

export interface ModelInfo {
  /** Display name: the GGUF's general.name, else the file name. */
  name: string;
  path: string;
  sizeBytes: number;
  /** Backend actually loaded; null until the first load. */
  backend: Backend | null;
  gpuLayers: number;
  totalLayers: number;
  contextSize: number;
  /** The model has FIM tokens, so inline completion can run. */
  hasFim: boolean;
  /** The model's file has a chat template; absent when unknown (a server's model). */
  hasChatTemplate?: boolean;
  /** What this model's weights and context take (on the GPU for its GPU layers, in RAM otherwise); absent when unknown. */
  memoryBytes?: number;
}

/** The draft model that drafts for completions (localLlm.completion.draftModel), as loaded beside the model. */
export interface DraftModelInfo {
  /** Display name: the GGUF's general.name, else the file name. */
  name: string;
  path: string;
  /** The file's size. */
  sizeBytes: number;
  /** What its weights and its context take, as node-llama-cpp counts them (RAM or VRAM). */
  memoryBytes: number;
  gpuLayers: number;
}

export interface MemoryInfo {
  serverRssBytes: number;
  /** null when no model host process exists (deep sleep, not started). */
  hostRssBytes: number | null;
  /** The host's RSS right after it started, before any model: what a light sleep should return to. */
  hostBaselineRssBytes: number | null;
  hostPid: number | null;
  vramUsedBytes: number | null;
  vramTotalBytes: number | null;
  /** RSS of the standby host a deep sleep keeps (localLlm.sleep.standby); absent or null when none is kept. */
  standbyRssBytes?: number | null;
}

export interface Counters {
  loads: number;
  sleeps: number;
  wakes: number;
  hostCrashes: number;
  lastLoadMs: number | null;
  lastWakeMs: number | null;
}

/** What runs the model: the local host, or the kind of server found at the engine URL. */
export type EngineKind = 'local' | 'llama-server' | 'ollama' | 'openai';
/** A server's own model state, from its status endpoint (llama-server's `is_sleeping`). */
export type EngineServerState = 'awake' | 'sleeping' | 'waking';

export interface EngineStatus {
  kind: EngineKind;
  /** The server's URL; null for the local host. */
  url: string | null;
  /** The server's own sleep; null for the local host or a server that does not say. */
  server: EngineServerState | null;
  /** The server's last failure in one sentence (unreachable, refused, key, timeout…); null after a success. */
  error: string | null;
  /** Sleep Now unloads the server's model; false: the server sleeps on its own. */
  canSleep: boolean;
}

/** What the last sleep gave back, measured before and after. */
export interface SleepFreed {
  rssBytes: number;
  vramBytes: number | null;
}

/** Inline completion counters since the server started. */
export interface CompletionCounters {
  requests: number;
  /** Generations that ran to a result. */
  generated: number;
  /** Served from the cache, without the model (typing along a shown completion, or a repeat). */
  cacheHits: number;
  /** Dropped because a newer request for the same document came. */
  superseded: number;
  /** Suggestions computed in the background for after the shown one is accepted, and cached. */
  prefetched?: number;
  /** Dropped (no suggestion) because the user asked for a completion in another window sharing the model host. */
  yielded?: number;
}

/** What one generation cost: prompt tokens evaluated against those reused from the KV cache, and speed. */
export interface TokenFigures {
  /** Tokens in the prompt, control tokens included. */
  promptTokens: number;
  /** Prompt tokens the model evaluated for this request. */
  evaluatedTokens: number;
  /** Prompt tokens already in the sequence's KV cache: promptTokens - evaluatedTokens. */
  reusedTokens: number;
  generatedTokens: number;
  /** Generated tokens per second after the first one; null when fewer than two were generated. */
  tokensPerSecond: number | null;
  /** Time in the model host, prompt evaluation included. */
  ms: number;
  /** Tokens drafted by prompt lookup and verified by the model; absent when no drafts were made (lookup off, remote engine). */
  draftedTokens?: number;
  /** Drafted tokens the model agreed with and that became output. */
  acceptedTokens?: number;
  /** Display name of the model that produced these figures (#25: completions and chat may use different models). */
  model?: string;
}

export interface ModelStatus {
  state: ModelState;
  /** One human sentence: why it is in error. */
  error: string | null;
  /** A non-fatal note worth showing, e.g. "CUDA is unavailable here, so the model runs on the CPU." */
  notice: string | null;
  model: ModelInfo | null;
  /** The chat model when it is not `model` (localLlm.chat.model); null/absent = chat is served by `model`. */
  chatModel?: ModelInfo | null;
  sleepMode: SleepMode;
  /** Seconds until the idle sleep; null when asleep, not ready or sleep is off. */
  idleSecondsLeft: number | null;
  /** Epoch ms when the model went to sleep; null unless sleeping. */
  asleepSince: number | null;
  lastSleepFreed: SleepFreed | null;
  /** Gated requests in flight (completions and chat turns). */
  inFlight: number;
  completionsEnabled: boolean;
  memory: MemoryInfo;
  counters: Counters;
  completions: CompletionCounters;
  /** The last generated completion's figures; null before the first. */
  lastCompletion: TokenFigures | null;
  /** The last chat turn's figures; null before the first. */
  lastChat: TokenFigures | null;
  /** Context chunks (from other files, copies, definitions) in the last completion's prompt. */
  contextChunks: number;
  /** What runs the model; absent from servers older than the engine setting (then: local). */
  engine?: EngineStatus;
  /** The model host shared by the windows of this user; absent or null when none is attached. */
  sharing?: SharingStatus | null;
  /** The workspace index for `@codebase` ("indexing N files" while it builds); absent or null without a workspace folder. */
  index?: WorkspaceIndexStatus | null;
  /** How long the recent completions took; absent from older servers, null until a few ran. */
  completionPace?: CompletionPace | null;
  /** The draft model loaded beside the model (what was loaded last, kept across sleep); absent or null when none. */
  draftModel?: DraftModelInfo | null;
}

/** The last few completions the user waited for, and whether that is slow for this machine. */
export interface CompletionPace {
  /** Completions judged (the most recent ones, up to 10). */
  samples: number;
  /** Their median time in the model, prompt evaluation included. */
  p50Ms: number;
  /** How many of them were cut at localLlm.completion.maxMs. */
  capped: number;
  /** The median is over 2 s or most were capped: the tooltip suggests what helps. */
  slow: boolean;
  /** localLlm.completion.maxTokens now, for that suggestion. */
  maxTokens: number;
}

/** The workspace index: files seen so far while it builds, then files and chunks indexed. */
export interface WorkspaceIndexStatus {
  state: 'indexing' | 'ready';
  files: number;
  chunks: number;
}

/** One model host serves every window of the user with the same model and load settings. */
export interface SharingStatus {
  /** Other windows (language servers) attached to the same model host. */
  otherWindows: number;
  /** Why this window runs its own host while another window's host serves other settings; null otherwise. */
  notShared: string | null;
  /** Model loads the shared host has done since it started (one for every window that shares it). */
  hostLoads: number;
}

export type ActivityKind = 'typing' | 'cursor' | 'editor' | 'focus';
export interface ActivityParams {
  kind: ActivityKind;
}

export interface ChatContext {
  fileName?: string;
  languageId?: string;
  /** Selected text, or the whole file when the user asked for it (the server bounds it). */
  selection?: string;
}

/** What a mention or a retrieved chunk is (DESIGN.md, "Chat on the code"). */
export type ChatPartKind = 'file' | 'selection' | 'symbol' | 'problems' | 'changes' | 'codebase';

/** Where a part's text comes from: a document, and its lines (0-based, inclusive) when it is a region. */
export interface ChatPartSource {
  uri: string;
  startLine?: number;
  endLine?: number;
}

/**
 * One mention the client resolved (or another editor sent), or one chunk the server retrieved for
 * `@codebase`: its kind, a short label for the chip and the answer's list, its source, its text.
 */
export interface ChatPart {
  kind: ChatPartKind;
  label: string;
  source?: ChatPartSource;
  text: string;
}

export interface ChatParams extends WorkDoneProgressParams, PartialResultParams {
  /** Chat session id chosen by the client; history is kept per session in the server. */
  sessionId: string;
  message: string;
  context?: ChatContext;
  /** The mentions the client resolved, in the order the user gave them. */
  parts?: ChatPart[];
  /** `@codebase`: the server retrieves chunks from its workspace index for this question. */
  codebase?: boolean;
}

export type StopReason = 'eos' | 'maxTokens' | 'maxLines' | 'suffix' | 'abort' | 'error';

/** A part as it went into the prompt: whole, trimmed to fit, or left out (with why). */
export interface ChatIncluded {
  kind: ChatPartKind;
  label: string;
  source?: ChatPartSource;
  fit: 'whole' | 'trimmed' | 'dropped';
}

export interface ChatResult {
  text: string;
  stopReason: StopReason;
  /** What the question carried besides itself, in prompt order; absent when nothing. */
  included?: ChatIncluded[];
  /** What did not fit the context, in sentences ("2 older turns left out"); absent when nothing. */
  notes?: string[];
}

/** The params of a chat turn the user is still writing (its draft), evaluated ahead. */
export type ChatPrefillParams = Omit<ChatParams, 'partialResultToken' | 'workDoneToken'>;

/** What a draft's prefill did. */
export interface ChatPrefillResult {
  /** Tokens of the turn's prompt as the engine will evaluate it. */
  promptTokens: number;
  /** Tokens this prefill evaluated; the rest were already held. */
  evaluatedTokens: number;
  /** Stopped at a safe point because it was cancelled (the draft changed, the turn was sent, a sleep). */
  stopped: boolean;
  /** Why it did not run, in a sentence (the model not awake, a turn answering, an engine that cannot read ahead, the setting off). */
  skipped?: string;
  /** Skipped only because the model was not awake: the same draft is worth sending again once it is. */
  retryWhenReady?: boolean;
}

/** One streamed piece of a chat answer, sent as a partial result. */
export interface ChatChunk {
  text: string;
}

export interface ChatResetParams {
  sessionId: string;
}

/** One earlier turn of a kept chat, as the client saved it. */
export interface ChatTurn {
  user: string;
  assistant: string;
}

export interface ChatRestoreParams {
  sessionId: string;
  /** Oldest first; replaces whatever the server holds for the session. */
  turns: ChatTurn[];
}

/** One part of the last chat prompt, in prompt order; their texts joined are the messages' texts. */
export interface ChatPromptPart {
  kind: 'system' | 'history' | 'mention' | 'retrieved' | 'question';
  label: string;
  text: string;
  /** Its tokens as the server counted or estimated them. */
  tokens: number;
  fit: 'whole' | 'trimmed' | 'dropped';
}

export interface LastChatPrompt {
  sessionId: string;
  parts: ChatPromptPart[];
  /** The context's tokens the server planned for (prompt and answer). */
  budgetTokens: number;
  /** The engine's figures of the turn; null when it did not run. */
  figures: TokenFigures | null;
  notes: string[];
  /** Epoch ms when it ran. */
  at: number;
}

/** Full status. Exempt: never wakes the model, never resets the idle timer. */
export namespace StatusRequest {
  export const method = 'localLlm/status' as const;
  export const type = new RequestType0<ModelStatus, void>(method);
}

/** Server -> client on every state change, with the same payload as `localLlm/status`. */
export namespace DidChangeStateNotification {
  export const method = 'localLlm/didChangeState' as const;
  export const type = new NotificationType<ModelStatus>(method);
}

/** Client -> server: the user is active in the editor (throttled by the client). Resets the idle timer. */
export namespace ActivityNotification {
  export const method = 'localLlm/activity' as const;
  export const type = new NotificationType<ActivityParams>(method);
}

/** Put the model to sleep now; resolves with the status once asleep. */
export namespace SleepRequest {
  export const method = 'localLlm/sleep' as const;
  export const type = new RequestType0<ModelStatus, void>(method);
}

/** Wake the model (or retry after an error); resolves with the status once ready or failed. */
export namespace WakeRequest {
  export const method = 'localLlm/wake' as const;
  export const type = new RequestType0<ModelStatus, void>(method);
}

/** One chat turn. The answer streams as partial results (`$/progress`); the result is the whole text. */
export namespace ChatRequest {
  export const method = 'localLlm/chat' as const;
  export const type = new ProtocolRequestType<ChatParams, ChatResult, ChatChunk, void, void>(method);
}

/** Forget a chat session's history. */
export namespace ChatResetRequest {
  export const method = 'localLlm/chatReset' as const;
  export const type = new RequestType<ChatResetParams, void, void>(method);
}

/** Give a session the turns of a kept chat (reopened from the client's storage). */
export namespace ChatRestoreRequest {
  export const method = 'localLlm/chatRestore' as const;
  export const type = new RequestType<ChatRestoreParams, void, void>(method);
}

/**
 * The chat turn the user is still writing: its prompt (history, mentions, @codebase's chunks, the
 * question so far) is evaluated into the chat sequence, so that the turn, once sent, evaluates only
 * what changed. Never wakes the model and never waits for it; cancelled by a newer draft or the send.
 */
export namespace ChatPrefillRequest {
  export const method = 'localLlm/chatPrefill' as const;
  export const type = new RequestType<ChatPrefillParams, ChatPrefillResult, void>(method);
}

/** The last chat turn's exact prompt, part by part, with its figures; null before the first turn. */
export namespace LastChatPromptRequest {
  export const method = 'localLlm/lastChatPrompt' as const;
  export const type = new RequestType0<LastChatPrompt | null, void>(method);
}

/** Passed by the client as LSP initializationOptions. */
export interface InitializationOptions {
  /** Folder for downloaded models (the extension's global storage). */
  storageDir?: string;
  /** Raw `localLlm` settings at start; later changes arrive via workspace/didChangeConfiguration. */
  settings?: unknown;
  /** The model server's API key from the client's secret storage; sent as a bearer token, never logged. */
  apiKey?: string | null;
}

export interface SetApiKeyParams {
  /** null or empty: no key. */
  apiKey: string | null;
}

/** Client -> server: the model server's API key changed (kept in the client's secret storage). */
export namespace SetApiKeyNotification {
  export const method = 'localLlm/setApiKey' as const;
  export const type = new NotificationType<SetApiKeyParams>(method);
}

// Models: the cache in the extension's storage and the presets offered to a new user.

export interface CachedModel {
  path: string;
  /** File name without the folder. */
  name: string;
  sizeBytes: number;
  /** The hf: URI or URL it came from, when known. */
  source: string | null;
}

export interface ModelPreset {
  id: string;
  label: string;
  /** hf: URI of the GGUF file. */
  uri: string;
  sizeBytes: number;
  /** Why this preset fits (or not) this machine, in words. */
  detail: string;
  /** The job it is for: a base model only completes (FIM); an Instruct model chats, or does both on a small machine. */
  role?: 'completion' | 'chat' | 'both';
}

/** A base model for completions and an Instruct model for chat, offered together. */
export interface ModelPresetPair {
  id: string;
  label: string;
  completion: ModelPreset;
  chat: ModelPreset;
  /** Both files together. */
  sizeBytes: number;
  /** How the two fit (or not) this machine together, in words. */
  detail: string;
}

export interface ListModelsResult {
  cached: CachedModel[];
  presets: ModelPreset[];
  /** Id of the preset chosen for this machine by free VRAM or RAM. */
  recommendedPresetId: string;
  /** Base + Instruct pairs, largest first. */
  pairs?: ModelPresetPair[];
  /** Id of the pair recommended for this machine; null when only one model fits. */
  recommendedPairId?: string | null;
  /** Why this machine gets a pair or one model for both, in one or two sentences. */
  recommendationReason?: string;
}

/** The models in the download cache, and the presets. Exempt: touches no model. */
export namespace ListModelsRequest {
  export const method = 'localLlm/listModels' as const;
  export const type = new RequestType0<ListModelsResult, void>(method);
}

export interface DeleteModelParams {
  path: string;
}

/** Delete a cached model file (refused for the model in use). */
export namespace DeleteModelRequest {
  export const method = 'localLlm/deleteModel' as const;
  export const type = new RequestType<DeleteModelParams, void, void>(method);
}

// Context from beyond the current file (DESIGN.md, "Never evaluate a token twice").

export type ContextChunkKind = 'file' | 'edit' | 'clipboard' | 'definition';

export interface ContextChunk {
  /** Workspace-relative path with forward slashes (the file name outside a workspace); the prompt names it. */
  path: string;
  /** The document's URI, so the server can drop chunks that overlap the current file's window; '' for clipboard text. */
  uri: string;
  /** 0-based line of the chunk's first line in its file; -1 when it has none (clipboard). */
  startLine: number;
  text: string;
  kind: ContextChunkKind;
}

export interface ContextChunksParams {
  /** New or refreshed chunks, oldest first; the server's ring dedupes and bounds them. */
  chunks: ContextChunk[];
}

/**
 * Client -> server: chunks for the completion's context ring. Exempt: never wakes the model and
 * never resets the idle timer. Optional for other editors; without it completions see one file.
 */
export namespace ContextChunksNotification {
  export const method = 'localLlm/contextChunks' as const;
  export const type = new NotificationType<ContextChunksParams>(method);
}

export type PromptPartKind = 'chunk' | 'prefix' | 'suffix' | 'middle';

export interface PromptPart {
  kind: PromptPartKind;
  /** What it is, in words: the chunk's path and lines, "before the cursor line", ... */
  label: string;
  /** The part's text exactly as it went to the model, control tokens written out. */
  text: string;
}

/** The last completion's exact prompt and what it cost. */
export interface LastCompletionPrompt {
  uri: string;
  line: number;
  character: number;
  /** In prompt order; their texts joined are the whole prompt. */
  parts: PromptPart[];
  figures: TokenFigures;
  /** Generation stopped at `completion.maxMs`; the user got what was ready. */
  capped: boolean;
  /** Epoch ms when it ran. */
  at: number;
}

/** The last completion's prompt; null before the first. Exempt. */
export namespace LastCompletionPromptRequest {
  export const method = 'localLlm/lastCompletionPrompt' as const;
  export const type = new RequestType0<LastCompletionPrompt | null, void>(method);
}
