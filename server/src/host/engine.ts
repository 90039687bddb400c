// The engine: node-llama-cpp's llama, model, context and sequence behind load, infill, chat,
// stats and unload, with no IPC. The model host (main.ts) serves it to the language server, and
// the benchmark's direct baseline (bench/direct/engineWorker.ts) calls it in a bare process, so
// both run the very same load and generation code.
// One model and one context serve every request. The context has two sequences, each with its
// own KV cache of contextSize tokens: completions on one, chat on the other, so neither evicts the
// other's cache; a completion runs beside a chat answer (laneQueue.ts), one generation at a time
// per sequence. On a host several windows share, the completion sequence holds one window's tokens
// at a time: at a switch the holder's state goes to a file and the new window's own comes back
// (switchWindow, windowStates.ts), rather than a sequence (and a KV cache) per window.
import { chmod, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
  Token,
  TokenMeterState,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { layoutPrompt, ringPieces, type FimControls, type PromptLayout, type PromptPiece } from '../completion/promptLayout';
import type { Backend, PromptPart, StopReason, TokenFigures } from '../shared/protocol';
import type { GpuChoice } from '../shared/settings';
import { processPresence } from '../shared/processes';
import { nthNewline } from '../shared/text';
import { startLlama, type NodeLlamaCpp, type StartedLlama } from './backend';
import { parseChatTokenRecord } from './chatTokens';
import { ChatTurns } from './chatTurns';
import { LaneQueue } from './laneQueue';
import { EngineError, nativeMessage } from './engineError';
import { ownRssBytes } from './memory';
import { checkModelFile, checkTensorData } from './modelFile';
import {
  noFigures,
  type ChatGenerateParams,
  type GenerationResult,
  type HostChatMessage,
  type HostStats,
  type InfillContext,
  type InfillParams,
  type LoadParams,
  type LoadResult,
  type PrefillParams,
  type PrefillResult,
  type SaveStateResult,
} from './protocol';
import {
  binOf,
  ensureStateDir,
  modelIdentity,
  pruneStates,
  readStateRecord,
  recordMismatch,
  removeState,
  stateBase,
  writeStateRecord,
  type ModelIdentity,
  type SequenceKind,
  type StateRecord,
} from './sequenceState';
import { cutBeforeLine, firstTokens, fitInfillBudget, lastTokens } from './tokenWindow';
import { WindowStates } from './windowStates';

export interface EngineOptions {
  /** Diagnostic lines (llama.cpp's warnings, a GPU backend that would not start); stderr by default. */
  log?: (line: string) => void;
  /** Lines for the host's own log only (a window switch's save and restore times); none by default. */
  trace?: (line: string) => void;
}

/**
 * The window a completion comes from on a host several windows share, as the host names it (never
 * the window itself), and the bytes its other windows' saved states may take together.
 */
export interface CompletionOwner {
  key: string;
  capBytes: number;
}

/** A window's saved completion state: its files' base (sequenceState.ts) and its kept text before the cursor line. */
interface WindowFile {
  base: string;
  keptBeforeLine: string | null;
}

/** How long the phases of the last load took; the benchmarks report them. */
export interface LoadTimings {
  /** null when the llama of the same backend was reused. */
  getLlamaMs: number | null;
  loadModelMs: number;
  createContextMs: number;
}

export type ChatParams = Omit<ChatGenerateParams, 'streamId'>;

interface LlamaState extends StartedLlama {
  requested: GpuChoice;
  /**
   * A native load or context creation failed on this llama. node-llama-cpp 3.21.1 then keeps a
   * dispose guard taken for the model (or context) it never finished, and once that object is
   * garbage collected, llama.dispose() waits for it forever (the host's shutdown hung until
   * SIGTERM). Such a llama is never awaited in dispose: the process exit frees it.
   */
  stuck: boolean;
}

/** The loaded model. Nothing else keeps a reference, so an unload frees it all. */
interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  /** The completion's sequence; its KV holds the last completion's prompt. */
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  chatSequence: LlamaContextSequence;
  /** Made on the first chat turn: resolving the chat template costs ~300 ms that a wake for a completion need not pay. */
  chat: LlamaChat | null;
  /** #24: which conversation the chat sequence holds, by its exact tokens (saved with its state), and the follow-ups that continue it. */
  chatTurns: ChatTurns;
  result: LoadResult;
  /** The text before the cursor line that the last completion kept (see cutBeforeLine). */
  keptBeforeLine: string | null;
  /** Where the sequences' state is kept across sleep; null keeps none. */
  stateDir: string | null;
  identity: ModelIdentity | null;
  /** Sequences whose saved state is still to be restored, by the first request that needs it. */
  pendingRestore: Set<SequenceKind>;
  /** The model's repository tokens (FIM_REP, FIM_SEP); undefined until first asked. */
  repoTokens?: { rep: Token | null; sep: Token | null };
  /** Tokens of recent context chunks by their laid-out text: the ring rarely changes, tokenizing it on every keystroke would be waste. */
  chunkTokens: Map<string, Token[]>;
  /** Which window's tokens the completion sequence holds, and the others' saved states (windowStates.ts). */
  windows: WindowStates<WindowFile>;
  /** This load's private folder of window states; made at the first save, removed with the load. */
  windowDir: Promise<string> | null;
  /** Names the next window state file. */
  windowFiles: number;
}

/** A completion prompt as laid out for one request. */
interface BuiltPrompt {
  layout: PromptLayout<Token>;
  /** Whether the library prepends BOS itself (then the first token is left to it). */
  bos: boolean;
  contextChunks: number;
  maxTokens: number;
}

/** Texts of the repository tokens as models name them (Qwen2.5-Coder first); llama.cpp finds them by these too. */
const repoTokenTexts = { rep: ['<|repo_name|>', '<|fim_repo|>', '<REPO>'], sep: ['<|file_sep|>', '<|fim_sep|>', '<FILE_SEP>'] };
/** Chunk texts whose tokens are kept; more than the ring ever holds. */
const chunkTokenCacheSize = 64;
/** A prefill evaluates this many tokens at a time and stops between batches when a keystroke comes. */
export const prefillBatchTokens = 32;

let versionOfLibrary: string | null = null;

/**
 * node-llama-cpp's version, as it reads it from its package.json (the package's own entry is
 * not shipped: the library is bundled); a state file is only loaded by the version that wrote it.
 */
async function libraryVersion(): Promise<string> {
  if (versionOfLibrary !== null) return versionOfLibrary;
  const version: unknown = await (await import('node-llama-cpp')).getModuleVersion();
  if (typeof version !== 'string' || version === '') throw new Error('node-llama-cpp has no version');
  versionOfLibrary = version;
  return versionOfLibrary;
}

/** Sequences per context: one for completions, one for chat. contextSize is per sequence, so the KV cache is twice that. */
const jobs = 2;
const abortResult: GenerationResult = { text: '', stopReason: 'abort', tokens: 0, figures: noFigures };
const stoppedPrefill: PrefillResult = { promptTokens: 0, evaluatedTokens: 0, stopped: true };
/** How long the model of a failed context creation gets to dispose before it is left to the process exit. */
const failedDisposeWaitMs = 2000;
/** The sequence of `kind` in a load. */
function sequenceIn(current: Loaded, kind: SequenceKind): LlamaContextSequence {
  return kind === 'completion' ? current.sequence : current.chatSequence;
}

/**
 * Writes the evaluated state of `kind`'s sequence to `file` (0600) and returns the record that
 * describes it, for the caller to write once the file is in its place.
 */
async function saveSequenceState(current: Loaded, identity: ModelIdentity, kind: SequenceKind, file: string): Promise<StateRecord> {
  const sequence = sequenceIn(current, kind);
  const tokenCount = sequence.contextTokens.length;
  const { fileSize } = await sequence.saveStateToFile(file);
  await chmod(file, 0o600);
  return {
    format: 1,
    ...identity,
    kind,
    contextSize: sequence.contextSize,
    engineVersion: await libraryVersion(),
    tokenCount,
    bytes: fileSize,
    keptBeforeLine: kind === 'completion' ? current.keptBeforeLine : null,
    // #24: what the chat's tokens hold, so a follow-up after the wake evaluates only its new part.
    chat: kind === 'chat' ? current.chatTurns.record : null,
  };
}

/** Windows whose completion state is kept besides the one the sequence holds. */
export const keptWindowStates = 4;

type LibraryStopReason = 'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';

function mapStopReason(reason: LibraryStopReason): StopReason {
  switch (reason) {
    case 'maxTokens':
      return 'maxTokens';
    case 'abort':
      return 'abort';
    case 'customStopTrigger':
      return 'suffix';
    default:
      return 'eos';
  }
}

function backendOf(llama: Llama): Backend {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

/**
 * What one generation on a sequence cost, from the sequence's token meter. The meter counts a
 * decoded token as output when its logits were asked for: the prompt's last token and every
 * sampled token fed back. So tokens sampled = output, and prompt tokens evaluated = input + 1.
 * The library may sample one past maxTokens when the last token is half of a UTF-8 character, and
 * its onToken callback misses held-back tokens, so the meter is the count to trust.
 */
class GenerationMeter {
  private readonly before: TokenMeterState;
  private readonly started = performance.now();
  private firstTokenAt: number | null = null;

  constructor(private readonly sequence: LlamaContextSequence) {
    this.before = sequence.tokenMeter.getState();
  }

  /** Called on every streamed piece; the first one ends the prompt's evaluation. */
  sawToken(): void {
    this.firstTokenAt ??= performance.now();
  }

  /** `promptTokens` when known; else taken from the sequence (its tokens less those generated and fed back). */
  figures(promptTokens: number | null): TokenFigures {
    const ended = performance.now();
    const used = this.sequence.tokenMeter.diff(this.before);
    const generatedTokens = used.usedOutputTokens;
    const evaluated = used.usedInputTokens + (generatedTokens > 0 ? 1 : 0);
    const prompt = Math.max(evaluated, promptTokens ?? this.sequence.contextTokens.length - Math.max(0, generatedTokens - 1));
    const generating = this.firstTokenAt === null ? 0 : ended - this.firstTokenAt;
    return {
      promptTokens: prompt,
      evaluatedTokens: evaluated,
      reusedTokens: prompt - evaluated,
      generatedTokens,
      tokensPerSecond: generatedTokens >= 2 && generating > 0 ? ((generatedTokens - 1) * 1000) / generating : null,
      ms: ended - this.started,
    };
  }
}

/** Whether node-llama-cpp prepends BOS to a completion's tokens (its resolveBeginningTokenToPrepend). */
function prependsBos(model: LlamaModel): boolean {
  const vocabulary = String(model.vocabularyType);
  if (model.tokens.bos == null || vocabulary === 'rwkv' || vocabulary === 'ugm') return false;
  return vocabulary === 'wpm' || model.tokens.shouldPrependBosToken;
}

/** Drops the oldest turns (never the system prompt or the question) until prompt and answer fit. */
function fitChatHistory(
  current: Loaded,
  messages: HostChatMessage[],
  maxTokens: number,
): { messages: HostChatMessage[]; maxTokens: number } {
  const contextSize = current.chatSequence.contextSize;
  const answer = Math.max(16, Math.min(maxTokens, Math.floor(contextSize / 2)));
  // Chat template overhead per message, generously.
  const cost = (m: HostChatMessage): number => current.model.tokenize(m.text, false, 'trimLeadingSpace').length + 8;
  const kept = [...messages];
  let total = kept.reduce((sum, m) => sum + cost(m), 0);
  const firstDroppable = kept[0]?.role === 'system' ? 1 : 0;
  while (total + answer > contextSize && kept.length - firstDroppable > 1) {
    total -= cost(kept[firstDroppable]);
    kept.splice(firstDroppable, 1);
  }
  const room = contextSize - total - 8;
  if (room < 16) {
    throw new EngineError(
      `The question and its context take ${total} tokens, too many for the model's ${contextSize}-token context; select less code or raise localLlm.contextSize.`,
    );
  }
  return { messages: kept, maxTokens: Math.min(answer, room) };
}

/**
 * node-llama-cpp behind one lane queue. Every failure meant for the user is an EngineError
 * holding one sentence; anything else thrown is a bug.
 */
export class LlamaEngine {
  private readonly log: (line: string) => void;
  private readonly trace: (line: string) => void;
  private readonly library: Promise<NodeLlamaCpp>;
  private importDurationMs: number | null = null;
  private llamaState: LlamaState | null = null;
  private loaded: Loaded | null = null;
  private timings: LoadTimings | null = null;
  /** Loads, unloads, state saves and disposal run alone; each sequence's generations in its own lane. */
  private readonly queue = new LaneQueue();
  /** Generations in flight or waiting, aborted by dispose(). */
  private readonly running = new Set<AbortController>();
  /** Aborted by dispose(): a load still running stops, as a generation does. */
  private readonly stopping = new AbortController();
  private disposal: Promise<void> | null = null;

  constructor(options: EngineOptions = {}) {
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.trace = options.trace ?? (() => undefined);
    // Imported at once, so the RSS measured before the first load already includes the library
    // and what a sleep gives back is the model alone.
    const started = performance.now();
    this.library = import('node-llama-cpp').then((lib) => {
      this.importDurationMs = performance.now() - started;
      return lib;
    });
  }

  /** Resolves once node-llama-cpp is imported; rejects when it cannot be. */
  async ready(): Promise<void> {
    await this.library;
  }

  /** How long importing node-llama-cpp took; null until it is done. */
  get importMs(): number | null {
    return this.importDurationMs;
  }

  get lastLoadTimings(): LoadTimings | null {
    return this.timings;
  }

  /** The backend of the current llama; null before the first load. */
  get backend(): Backend | null {
    const llama = this.llamaState?.llama;
    return llama && !llama.disposed ? backendOf(llama) : null;
  }

  /**
   * Loads the model and creates its context, replacing the model loaded before. Aborting
   * `signal` stops the file check and llama.cpp's load; the load then fails with a sentence.
   */
  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    this.refuseWhileStopping();
    const stop = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const loaded = this.queue.run(() => this.loadNow(params, stop));
    // A wake is mostly the user coming back to type: the completion's saved state is put back at
    // once, so the first ghost text does not wait for it. A chat's waits for its next question.
    void loaded.then(
      () => this.restoreAhead('completion'),
      () => undefined,
    );
    return loaded;
  }

  private restoreAhead(kind: SequenceKind): void {
    const current = this.loaded;
    if (!current?.pendingRestore.has(kind)) return;
    this.queue
      .run(async () => {
        if (this.loaded === current) await this.restoreState(current, kind);
      })
      .catch((err: unknown) => this.log(`Could not restore the saved ${kind} state: ${nativeMessage(err)}.`));
  }

  /** Fill in the middle. Aborting `signal` stops it; one aborted while it waits answers at once. */
  infill(params: InfillParams, signal: AbortSignal, owner?: CompletionOwner): Promise<GenerationResult> {
    this.refuseWhileStopping();
    return this.generation('completion', signal, abortResult, (stop) => this.infillNow(params, stop, owner));
  }

  /**
   * Evaluates the prompt an infill with these params would use into the completion sequence, in batches of prefillBatchTokens; aborting `signal` stops it at the next
   * batch, keeping what was evaluated. Generates nothing.
   */
  prefill(params: PrefillParams, signal: AbortSignal, owner?: CompletionOwner): Promise<PrefillResult> {
    this.refuseWhileStopping();
    return this.generation('completion', signal, stoppedPrefill, (stop) => this.prefillNow(params, stop, owner));
  }

  /** A window detached from the shared host: its saved completion state is deleted, never to be restored. */
  forgetOwner(key: string): Promise<void> {
    return this.queue.lane('completion', async () => {
      const current = this.loaded;
      const file = current?.windows.forget(key);
      if (file) await removeState(file.base).catch(() => undefined);
    });
  }

  /** One chat answer over `params.messages`, each streamed piece of text passed to `onChunk`. */
  chat(params: ChatParams, onChunk: (text: string) => void, signal: AbortSignal): Promise<GenerationResult> {
    this.refuseWhileStopping();
    return this.generation('chat', signal, abortResult, (stop) => this.chatNow(params, onChunk, stop));
  }

  /** RSS of this process and the GPU's memory (the whole device, as llama.cpp reports it). */
  async stats(): Promise<HostStats> {
    await this.library;
    let vramUsedBytes: number | null = null;
    let vramTotalBytes: number | null = null;
    const llama = this.llamaState?.llama;
    if (llama && !llama.disposed && llama.gpu !== false) {
      const vram = await llama.getVramState();
      vramUsedBytes = vram.used;
      vramTotalBytes = vram.total;
    }
    return { rssBytes: ownRssBytes(), vramUsedBytes, vramTotalBytes, loaded: this.loaded !== null };
  }

  /** Light sleep: waits for a running generation (disposing under it kills the process), then frees model and context. */
  async unload(): Promise<HostStats> {
    await this.library;
    return this.queue.run(async () => {
      await this.disposeLoaded();
      return this.stats();
    });
  }

  /**
   * Before a sleep: saves each sequence that holds tokens to the load's state folder, with its
   * record, then trims the folder to `capBytes`. A sequence whose saved state was never restored
   * keeps its file. Never throws for a failed save: the reuse is lost, and the log says so.
   */
  saveStates(capBytes: number): Promise<SaveStateResult> {
    return this.queue.run(async () => {
      const current = this.loaded;
      const saved: SaveStateResult['saved'] = [];
      if (!current?.stateDir || !current.identity || capBytes <= 0) return { saved };
      const { stateDir: dir, identity } = current;
      try {
        await ensureStateDir(dir);
        for (const kind of ['completion', 'chat'] as const) {
          if (current.pendingRestore.has(kind) || sequenceIn(current, kind).contextTokens.length === 0) continue;
          const base = stateBase(dir, identity.modelPath, kind);
          const temporary = `${base}.saving`;
          try {
            const record = await saveSequenceState(current, identity, kind, temporary);
            // The record goes first: a .bin without its record is never loaded.
            await removeState(base);
            await rename(temporary, binOf(base));
            await writeStateRecord(base, record);
            saved.push({ kind, tokens: record.tokenCount, bytes: record.bytes });
          } catch (err) {
            await rm(temporary, { force: true }).catch(() => undefined);
            await removeState(base).catch(() => undefined);
            this.log(`Could not save the ${kind} state (${nativeMessage(err)}); after the wake it is evaluated again.`);
          }
        }
        for (const base of await pruneStates(dir, capBytes))
          this.log(`Removed the state ${path.basename(base)}: over localLlm.stateCacheMB.`);
      } catch (err) {
        this.log(`Could not keep the model's state across sleep (${nativeMessage(err)}); after the wake it is evaluated again.`);
      }
      return { saved };
    });
  }

  /** Saves one sequence's evaluated state to `file`; the benchmark's state-restore baseline uses it. */
  saveState(file: string, kind: SequenceKind): Promise<{ bytes: number }> {
    return this.queue.run(async () => ({ bytes: (await this.sequenceOf(kind).saveStateToFile(file)).fileSize }));
  }

  loadState(file: string, kind: SequenceKind): Promise<void> {
    return this.queue.run(() => this.sequenceOf(kind).loadStateFromFile(file, { acceptRisk: true }));
  }

  private sequenceOf(kind: SequenceKind): LlamaContextSequence {
    return sequenceIn(this.requireLoaded(), kind);
  }

  /** Aborts every generation, then frees model, context and llama. Later calls are refused. */
  dispose(): Promise<void> {
    this.disposal ??= (async () => {
      for (const controller of this.running) controller.abort();
      this.stopping.abort();
      await this.queue.run(async () => {
        await this.disposeLoaded();
        const state = this.llamaState;
        this.llamaState = null;
        if (state) await this.disposeLlama(state);
      });
    })();
    return this.disposal;
  }

  private refuseWhileStopping(): void {
    if (this.disposal) throw new EngineError('The model host is shutting down.');
  }

  private requireLoaded(): Loaded {
    if (!this.loaded) throw new EngineError('No model is loaded in the model host.');
    return this.loaded;
  }

  private async ensureLlama(gpu: GpuChoice, threads: number, lib: NodeLlamaCpp): Promise<LlamaState & { reused: boolean }> {
    const current = this.llamaState;
    if (current && current.requested === gpu && !current.llama.disposed) {
      current.llama.maxThreads = threads;
      return { ...current, reused: true };
    }
    this.llamaState = null;
    if (current) await this.disposeLlama(current);
    this.llamaState = { ...(await startLlama(lib, gpu, threads, this.log)), requested: gpu, stuck: false };
    return { ...this.llamaState, reused: false };
  }

  /** Disposes a llama, unless a failed load left it unable to finish disposing (see LlamaState.stuck). */
  private async disposeLlama(state: LlamaState): Promise<void> {
    if (!state.stuck) {
      await state.llama.dispose();
      return;
    }
    this.log('A failed model load left llama.cpp unable to dispose cleanly; its memory is freed when the model host exits.');
    // Disposes the models it still knows of; its own last step never ends, so nobody waits.
    void state.llama.dispose().catch(() => undefined);
  }

  /** Disposes a model whose context could not be made, without waiting forever on the same leak. */
  private async disposeFailedModel(model: LlamaModel, state: LlamaState): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gaveUp'>((resolve) => (timer = setTimeout(() => resolve('gaveUp'), failedDisposeWaitMs)));
    const outcome = await Promise.race([
      model.dispose().then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      gaveUp,
    ]);
    clearTimeout(timer);
    if (outcome === 'gaveUp') state.stuck = true;
  }

  private async disposeLoaded(): Promise<void> {
    const current = this.loaded;
    this.loaded = null;
    if (!current) return;
    current.chat?.dispose({ disposeSequence: false });
    current.chatTurns.dispose();
    current.completion.dispose({ disposeSequence: false });
    current.sequence.dispose();
    current.chatSequence.dispose();
    await current.context.dispose();
    await current.model.dispose();
    // Window states belong to this load's sequence: the next load starts without them.
    current.windows.clear();
    if (current.windowDir) {
      await current.windowDir.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => undefined);
    }
    // The file's metadata (vocabulary, template) is garbage now; without a full collection V8
    // keeps its heap grown. gc exists when the process runs with --expose-gc (the host does).
    (globalThis as { gc?: () => void }).gc?.();
  }

  /**
   * Restores the saved state of a sequence, once, before the first request that uses it after a
   * load. A state whose record does not match this load, or whose file is not the size recorded
   * or does not load, is deleted and the sequence starts empty.
   */
  private async restoreState(current: Loaded, kind: SequenceKind): Promise<void> {
    if (!current.pendingRestore.delete(kind) || !current.stateDir || !current.identity) return;
    const base = stateBase(current.stateDir, current.identity.modelPath, kind);
    const record = await this.loadSavedState(current, kind, base, `saved ${kind} state ${path.basename(base)}`);
    if (record && kind === 'completion') current.keptBeforeLine = record.keptBeforeLine;
    // #24: the restored chat tokens' conversation; a record without one (or not one) means a full evaluation.
    if (record && kind === 'chat') current.chatTurns.record = parseChatTokenRecord(record.chat);
  }

  /**
   * Loads the state saved at `base` into the sequence of `kind` when its record matches this
   * load and its file is the size recorded; else deletes it, logs why (naming it `what`) and
   * leaves the sequence as it was (emptied when llama.cpp failed half way). The record, or null.
   */
  private async loadSavedState(current: Loaded, kind: SequenceKind, base: string, what: string): Promise<StateRecord | null> {
    const sequence = sequenceIn(current, kind);
    const refuse = async (why: string): Promise<null> => {
      await removeState(base).catch(() => undefined);
      this.log(`Deleted the ${what} unloaded: ${why}.`);
      return null;
    };
    if (!current.identity) return null;
    let record;
    try {
      record = await readStateRecord(base);
    } catch (err) {
      return refuse(`its record is unreadable (${nativeMessage(err)})`);
    }
    if (!record) return null;
    const why = recordMismatch(record, {
      ...current.identity,
      contextSize: sequence.contextSize,
      engineVersion: await libraryVersion(),
      kind,
    });
    if (why !== null) return refuse(why);
    let bytes: number;
    try {
      bytes = (await stat(binOf(base))).size;
    } catch {
      return refuse('its state file is missing');
    }
    if (bytes !== record.bytes) return refuse(`its state file has ${bytes} bytes, not the ${record.bytes} written (truncated)`);
    try {
      // The risk node-llama-cpp names is a file from another model: the record says it is not.
      await sequence.loadStateFromFile(binOf(base), { acceptRisk: true });
    } catch (err) {
      await sequence.clearHistory().catch(() => undefined);
      return refuse(`llama.cpp could not load it (${nativeMessage(err)})`);
    }
    return record;
  }

  /**
   * Before a completion of `owner` on a shared host: when the completion sequence holds another
   * window's tokens, saves them (that window's state) and loads `owner`'s own saved state, if it
   * has one; the prompt's prefix reuse then evaluates only what differs. Runs in the completion
   * lane: node-llama-cpp's context lock keeps the save and load from overlapping a chat decode.
   * A failed save or load costs the reuse only: one line in the log, and the prompt is evaluated.
   */
  private async switchWindow(current: Loaded, owner: CompletionOwner | undefined): Promise<void> {
    if (!owner) return;
    const { windows, sequence } = current;
    const plan = windows.plan(owner.key);
    if (plan.save === null && plan.restore === null) {
      windows.hold(owner.key);
      return;
    }
    if (plan.save !== null && owner.capBytes > 0 && current.identity && sequence.contextTokens.length > 0) {
      await this.saveWindow(current, plan.save, owner.capBytes);
    }
    windows.hold(owner.key);
    // Whatever the sequence holds now is no longer the cut point of this window's text.
    current.keptBeforeLine = null;
    if (plan.restore === null) return;
    const started = performance.now();
    const record = await this.loadSavedState(current, 'completion', plan.restore.base, `completion state of ${owner.key}`);
    await removeState(plan.restore.base).catch(() => undefined);
    if (!record) return;
    current.keptBeforeLine = plan.restore.keptBeforeLine;
    this.trace(
      `Window switch: restored the completion state of ${owner.key} (${record.tokenCount} tokens, ${record.bytes} bytes) in ${(performance.now() - started).toFixed(1)} ms.`,
    );
  }

  /** Saves the completion sequence as `key`'s state in this load's window folder, then drops the states over the count or `capBytes`. */
  private async saveWindow(current: Loaded, key: string, capBytes: number): Promise<void> {
    const { identity } = current;
    if (!identity) return;
    const started = performance.now();
    let base: string | null = null;
    try {
      current.windowDir ??= this.makeWindowDir(current);
      base = path.join(await current.windowDir, `window-${++current.windowFiles}`);
      const record = await saveSequenceState(current, identity, 'completion', binOf(base));
      await writeStateRecord(base, record);
      for (const dropped of current.windows.keep(key, record.bytes, { base, keptBeforeLine: current.keptBeforeLine }, capBytes)) {
        await removeState(dropped.base).catch(() => undefined);
      }
      this.trace(
        `Window switch: saved the completion state of ${key} (${record.tokenCount} tokens, ${record.bytes} bytes) in ${(performance.now() - started).toFixed(1)} ms.`,
      );
    } catch (err) {
      if (base !== null) await removeState(base).catch(() => undefined);
      this.log(
        `Could not keep the completion state of another window (${nativeMessage(err)}); its next completion evaluates its prompt again.`,
      );
    }
  }

  /**
   * A private folder (0700; mkdtemp makes it so) for this load's window states: under the state
   * folder when the load keeps one, else the temp folder. Folders in the state folder that a host
   * left when it crashed (its pid is gone) are removed.
   */
  private async makeWindowDir(current: Loaded): Promise<string> {
    if (!current.stateDir) return mkdtemp(path.join(os.tmpdir(), `local-llm-windows-${process.pid}-`));
    const parent = current.stateDir;
    await ensureStateDir(parent);
    for (const name of await readdir(parent).catch(() => [])) {
      const pid = /^windows-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && Number(pid) !== process.pid && processPresence(Number(pid)) === 'none') {
        await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
    return mkdtemp(path.join(parent, `windows-${process.pid}-`));
  }

  private async loadNow(params: LoadParams, signal: AbortSignal): Promise<LoadResult> {
    const lib = await this.library;
    // LoadParams.threads is already resolved by the server (never 0): used as given.
    const { modelPath, threads } = params;
    const cancelled = (): EngineError => new EngineError(`Loading ${modelPath} was cancelled.`);
    if (signal.aborted) throw cancelled();
    // A bad file is refused while the model loaded before keeps serving.
    const file = await checkModelFile(modelPath, lib, signal);
    // Another backend means another llama, and nothing may outlive the llama it came from.
    if (this.llamaState?.requested !== params.gpu) await this.disposeLoaded();
    const llamaStarted = performance.now();
    const { llama, fallbackReason, reused } = await this.ensureLlama(params.gpu, threads, lib);
    const getLlamaMs = reused ? null : performance.now() - llamaStarted;
    await checkTensorData(modelPath, file, llama, lib);
    if (signal.aborted) throw cancelled();
    await this.disposeLoaded();

    const modelStarted = performance.now();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath, gpuLayers: params.gpuLayers, loadSignal: signal });
    } catch (err) {
      // Whatever failed, the library may hold a guard for the model it never finished.
      if (this.llamaState) this.llamaState.stuck = true;
      if (signal.aborted) throw cancelled();
      if (err instanceof lib.InsufficientMemoryError) {
        throw new EngineError(`There is not enough memory to load ${modelPath}; try fewer GPU layers or a smaller model.`);
      }
      throw new EngineError(`llama.cpp could not load ${modelPath}: ${nativeMessage(err)}.`);
    }
    const contextStarted = performance.now();
    let context: LlamaContext;
    try {
      context = await model.createContext({ contextSize: params.contextSize, sequences: jobs, threads, createSignal: signal });
    } catch (err) {
      if (this.llamaState) await this.disposeFailedModel(model, this.llamaState);
      if (signal.aborted) throw cancelled();
      if (err instanceof lib.InsufficientMemoryError) {
        throw new EngineError(
          `There is not enough memory for a context of ${params.contextSize} tokens (one each for completions and chat); try a smaller context size.`,
        );
      }
      throw new EngineError(`llama.cpp could not create a context of ${params.contextSize} tokens: ${nativeMessage(err)}.`);
    }
    const done = performance.now();
    this.timings = { getLlamaMs, loadModelMs: contextStarted - modelStarted, createContextMs: done - contextStarted };
    const sequence = context.getSequence();
    const chatSequence = context.getSequence();
    const infill = model.tokens.infill;
    const result: LoadResult = {
      name: file.name !== null && file.name !== '' ? file.name : path.basename(modelPath, '.gguf'),
      sizeBytes: file.sizeBytes,
      backend: backendOf(llama),
      gpuLayers: model.gpuLayers,
      totalLayers: model.fileInsights.totalLayers,
      contextSize: context.contextSize,
      // As node-llama-cpp's own infill: a model without a middle token takes SUF suffix PRE prefix.
      hasFim: infill.prefix != null && infill.suffix != null,
      fallbackReason,
    };
    let identity: ModelIdentity | null = null;
    if (params.stateDir != null) {
      try {
        identity = await modelIdentity(modelPath);
      } catch (err) {
        this.log(`No state is kept across sleep: ${nativeMessage(err)}.`);
      }
    }
    this.loaded = {
      model,
      context,
      sequence,
      completion: new lib.LlamaCompletion({ contextSequence: sequence }),
      chatSequence,
      chat: null,
      chatTurns: new ChatTurns(chatSequence),
      result,
      keptBeforeLine: null,
      stateDir: params.stateDir ?? null,
      identity,
      pendingRestore: new Set(identity ? ['completion', 'chat'] : []),
      chunkTokens: new Map(),
      windows: new WindowStates(keptWindowStates),
      windowDir: null,
      windowFiles: 0,
    };
    return result;
  }

  /**
   * Runs `task` in its sequence's lane with a signal that `signal` and dispose() both abort. A
   * generation aborted while it still waits answers `aborted` at once; once begun, its own result
   * (the text so far) is the answer. A saved state still to be restored into the sequence is
   * restored first, alone: loading a sequence's state must not overlap a decode of the other.
   */
  private generation<T>(kind: SequenceKind, signal: AbortSignal, aborted: T, task: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', abort, { once: true });
    this.running.add(controller);
    const stop = controller.signal;
    let started = false;
    if (this.loaded?.pendingRestore.has(kind)) {
      this.queue
        .run(async () => {
          const current = this.loaded;
          if (current && !stop.aborted) await this.restoreState(current, kind);
        })
        .catch((err: unknown) => this.log(`Could not restore the saved ${kind} state: ${nativeMessage(err)}.`));
    }
    const queued = this.queue.lane(kind, () => {
      if (stop.aborted) return Promise.resolve(aborted);
      started = true;
      return task(stop);
    });
    const finished = (): void => {
      signal.removeEventListener('abort', abort);
      this.running.delete(controller);
    };
    queued.then(finished, finished);
    return new Promise<T>((resolve, reject) => {
      queued.then(resolve, reject);
      const onAbort = (): void => {
        if (!started) resolve(aborted);
      };
      if (stop.aborted) onAbort();
      else stop.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The model's repository tokens, from the file's metadata or else by their known texts. */
  private repoTokensOf(current: Loaded): { rep: Token | null; sep: Token | null } {
    if (current.repoTokens) return current.repoTokens;
    const { model } = current;
    const ggml = model.fileInfo.metadata.tokenizer?.ggml as { fim_rep_token_id?: number; fim_sep_token_id?: number } | undefined;
    const byText = (texts: readonly string[]): Token | null => {
      for (const text of texts) {
        const tokens = model.tokenize(text, true);
        if (tokens.length === 1 && model.detokenize(tokens, true) === text) return tokens[0]!;
      }
      return null;
    };
    const known = (id: number | undefined): Token | null => (typeof id === 'number' && id >= 0 ? (id as Token) : null);
    current.repoTokens = {
      rep: known(ggml?.fim_rep_token_id) ?? byText(repoTokenTexts.rep),
      sep: known(ggml?.fim_sep_token_id) ?? byText(repoTokenTexts.sep),
    };
    return current.repoTokens;
  }

  /** Tokenizes a chunk's text once while it stays in the ring. */
  private chunkTokenizer(current: Loaded): (text: string) => Token[] {
    const cache = current.chunkTokens;
    return (text) => {
      const known = cache.get(text);
      if (known) return known;
      const tokens = current.model.tokenize(text, false, 'trimLeadingSpace');
      cache.set(text, tokens);
      while (cache.size > chunkTokenCacheSize) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return tokens;
    };
  }

  /**
   * The ring's pieces within its budget (never more than half the context): the oldest chunks go
   * first, so what is left keeps the newest ones and its own order.
   */
  private fitRing(current: Loaded, controls: FimControls<Token>, context: InfillContext | undefined): PromptPiece<Token>[] {
    if (!context || context.chunks.length === 0) return [];
    const budget = Math.min(context.budgetTokens, Math.floor(current.sequence.contextSize / 2));
    if (budget <= 0) return [];
    const tokenize = this.chunkTokenizer(current);
    const source = { repoName: context.repoName, commentPrefix: context.commentPrefix };
    const pieces = ringPieces(controls, tokenize, context.chunks, source);
    // The repository header rides on the first piece; it is paid once whichever chunk is first.
    const header = pieces.length > 0 && controls.sep !== null && controls.rep !== null ? 1 + tokenize(`${context.repoName}\n`).length : 0;
    let total = header;
    let first = pieces.length;
    for (let i = pieces.length - 1; i >= 0; i--) {
      const cost = pieces[i]!.tokens.length - (i === 0 ? header : 0);
      if (total + cost > budget) break;
      total += cost;
      first = i;
    }
    if (first === 0) return pieces;
    return first >= pieces.length ? [] : ringPieces(controls, tokenize, context.chunks.slice(first), source);
  }

  /** The whole prompt for an infill or a prefill: the ring, then the file's FIM prompt cut to what is left of the context. */
  private buildPrompt(current: Loaded, params: PrefillParams): BuiltPrompt {
    const { model } = current;
    const { prefix: pre, suffix: suf, middle: mid } = model.tokens.infill;
    if (pre == null || suf == null) {
      throw new EngineError(`The model ${current.result.name} has no fill-in-the-middle tokens, so it cannot complete code inline.`);
    }
    const bos = prependsBos(model);
    const repo = this.repoTokensOf(current);
    const controls: FimControls<Token> = { bos: bos ? model.tokens.bos : null, pre, suf, mid: mid ?? null, rep: repo.rep, sep: repo.sep };
    const tokenize = (text: string): Token[] => model.tokenize(text, false, 'trimLeadingSpace');
    const ring = this.fitRing(current, controls, params.context);
    const currentPath = params.context?.currentPath ?? '';
    // The ring and the current file's own path line come out of the file's room.
    const ringTokens =
      ring.reduce((sum, p) => sum + p.tokens.length, 0) +
      (ring.length > 0 && repo.sep !== null ? 1 + tokenize(`${currentPath}\n`).length : 0);
    const budget = fitInfillBudget(current.sequence.contextSize - ringTokens, params);
    // The cursor line keeps at least this much of the prefix budget, whatever comes before it.
    const lineReserve = Math.floor(budget.prefixTokens / 8);
    const before = cutBeforeLine(tokenize, params.prefix, budget.prefixTokens - lineReserve, current.keptBeforeLine);
    current.keptBeforeLine = before.kept;
    const middle = lastTokens(model, params.middle, budget.prefixTokens - before.tokens.length);
    const suffix = firstTokens(model, params.suffix, budget.suffixTokens);
    // What llama.cpp's /infill builds: everything up to the cursor line stays byte-identical while
    // the user types along it, so only the line's new tokens are evaluated.
    const layout = layoutPrompt({ controls, tokenize, ring, currentPath, before: before.tokens, suffix, middle });
    return { layout, bos, contextChunks: ring.length, maxTokens: budget.maxTokens };
  }

  private async prefillNow(params: PrefillParams, signal: AbortSignal, owner: CompletionOwner | undefined): Promise<PrefillResult> {
    const current = this.requireLoaded();
    await this.restoreState(current, 'completion');
    await this.switchWindow(current, owner);
    // The whole prompt, the cursor line too: a keystroke on that line then evaluates only itself.
    const target = this.buildPrompt(current, params).layout.tokens;
    const { sequence } = current;
    try {
      // Drops what differs (the old file prompt after a changed ring); keeps the common start.
      await sequence.adaptStateToTokens(target, false);
      const held = sequence.nextTokenIndex;
      let at = held;
      while (at < target.length) {
        if (signal.aborted) return { promptTokens: target.length, evaluatedTokens: at - held, stopped: true };
        const batch = target.slice(at, at + prefillBatchTokens);
        await sequence.evaluateWithoutGeneratingNewTokens(batch);
        at += batch.length;
      }
      return { promptTokens: target.length, evaluatedTokens: at - held, stopped: false };
    } catch (err) {
      if (signal.aborted) return stoppedPrefill;
      throw new EngineError(`The prefill failed: ${nativeMessage(err)}.`);
    }
  }

  private async infillNow(params: InfillParams, signal: AbortSignal, owner: CompletionOwner | undefined): Promise<GenerationResult> {
    const started = performance.now();
    const current = this.requireLoaded();
    await this.restoreState(current, 'completion');
    await this.switchWindow(current, owner);
    const { model } = current;
    const built = this.buildPrompt(current, params);
    const { layout } = built;
    const prompt = built.bos ? layout.tokens.slice(1) : layout.tokens;
    const promptTokens = layout.tokens.length;
    const describe = (): Pick<GenerationResult, 'prompt' | 'contextChunks'> => ({
      contextChunks: built.contextChunks,
      ...(params.describePrompt
        ? { prompt: layout.pieces.map((p): PromptPart => ({ kind: p.kind, label: p.label, text: model.detokenize(p.tokens, true) })) }
        : {}),
    });
    // The time cap counts from the request's start here, prompt included: that is what the user waits for.
    const capper = new AbortController();
    const maxMs = params.maxMs ?? 0;
    const capTimer = maxMs > 0 ? setTimeout(() => capper.abort(), Math.max(0, maxMs - (performance.now() - started))) : undefined;
    const maxLines = Math.max(1, params.maxLines);
    const lineLimit = new AbortController();
    const stop = AbortSignal.any([signal, lineLimit.signal, capper.signal]);
    let streamed = '';
    let text = '';
    const meter = new GenerationMeter(current.sequence);
    let stopReason: StopReason;
    try {
      const response = await current.completion.generateCompletionWithMeta(prompt, {
        maxTokens: built.maxTokens,
        // Prompt and answer already fit; the default (a tenth of the context) would cut the prompt's front.
        contextShiftSize: built.maxTokens,
        customStopTriggers: params.stopTexts.filter((s) => s !== ''),
        signal: stop,
        stopOnAbortSignal: true,
        onTextChunk: (chunk) => {
          meter.sawToken();
          streamed += chunk;
          if (nthNewline(streamed, maxLines) >= 0) lineLimit.abort();
        },
      });
      text = response.response;
      stopReason = mapStopReason(response.metadata.stopReason);
    } catch (err) {
      // Aborting before the first token throws instead of returning.
      if (!stop.aborted) throw new EngineError(`The completion failed: ${nativeMessage(err)}.`);
      stopReason = 'abort';
    } finally {
      clearTimeout(capTimer);
    }
    const figures = meter.figures(promptTokens);
    const tokens = figures.generatedTokens;
    const extra = describe();
    const cut = nthNewline(text, maxLines);
    if (cut >= 0) return { text: text.slice(0, cut), stopReason: 'maxLines', tokens, figures, ...extra };
    if (lineLimit.signal.aborted && !signal.aborted) return { text, stopReason: 'maxLines', tokens, figures, ...extra };
    // Capped: the text so far (streamed pieces are whole tokens) is the answer; the server trims it to whole lines.
    if (capper.signal.aborted && !signal.aborted)
      return { text: text === '' ? streamed : text, stopReason: 'abort', tokens, figures, capped: true, ...extra };
    return { text, stopReason, tokens, figures, ...extra };
  }

  private async chatNow(params: ChatParams, onChunk: (text: string) => void, signal: AbortSignal): Promise<GenerationResult> {
    const current = this.requireLoaded();
    if (params.messages.length === 0) throw new EngineError('The chat request has no messages.');
    await this.restoreState(current, 'chat');
    const fitted = fitChatHistory(current, params.messages, params.maxTokens);
    const meter = new GenerationMeter(current.chatSequence);
    try {
      const lib = await this.library;
      current.chat ??= new lib.LlamaChat({ contextSequence: current.chatSequence });
      // #24: a follow-up of the conversation the sequence holds continues from its exact tokens (chatTurns.ts).
      const response = await current.chatTurns.answer(lib, current.chat, fitted.messages, {
        maxTokens: fitted.maxTokens,
        signal,
        bosPrepended: prependsBos(current.model),
        trace: this.trace,
        onTextChunk: (text) => {
          meter.sawToken();
          if (text !== '') onChunk(text);
        },
      });
      const figures = meter.figures(response.promptTokens);
      return { text: response.text, stopReason: mapStopReason(response.stopReason), tokens: figures.generatedTokens, figures };
    } catch (err) {
      if (signal.aborted) {
        const figures = meter.figures(null);
        return { ...abortResult, tokens: figures.generatedTokens, figures };
      }
      throw new EngineError(`The chat answer failed: ${nativeMessage(err)}.`);
    }
  }
}
