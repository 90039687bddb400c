// The model host: a child process that owns node-llama-cpp and nothing else. The language server
// talks to it over IPC (vscode-jsonrpc); if llama.cpp aborts, only this process dies.
// One model, one context and one sequence serve every request, one generation at a time.
import { stat, open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type {
  ChatHistoryItem,
  GgufFileInfo,
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaContext,
  LlamaContextSequence,
  LlamaLogLevel,
  LlamaModel,
  TokenMeterState,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import {
  CancellationToken,
  createMessageConnection,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
} from 'vscode-jsonrpc/node';
import type { Backend, StopReason } from '../shared/protocol';
import type { GpuChoice } from '../shared/settings';
import {
  chatChunkNotification,
  chatRequest,
  infillRequest,
  loadRequest,
  shutdownRequest,
  statsRequest,
  unloadRequest,
  type ChatGenerateParams,
  type GenerationResult,
  type HostChatMessage,
  type HostStats,
  type InfillParams,
  type LoadParams,
  type LoadResult,
} from './protocol';
import { firstTokens, fitInfillBudget, lastTokens, nthNewline } from './tokenWindow';
import { ownRssBytes } from './memory';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A failure the user should read as it is: one sentence, no stack. */
function human(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InternalError, message);
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// Imported once at start, so the RSS measured before the first load already includes the library
// and what a sleep gives back is the model alone.
const libraryReady: Promise<NodeLlamaCpp> = import('node-llama-cpp');

/** Runs tasks one after another: native generation and disposal must never overlap. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

// ---------------------------------------------------------------------------------------------
// Model file validation: everything llama.cpp would abort on is caught here first.

const abortingKeys = ['feed_forward_length', 'attention.head_count'] as const;
const requiredKeys = ['embedding_length', 'block_count', ...abortingKeys] as const;
// Recurrent architectures legitimately have no feed-forward or attention-head keys.
const recurrentArchitecture = /^(mamba|rwkv)/;

async function validateModelFile(modelPath: string, lib: NodeLlamaCpp): Promise<{ info: GgufFileInfo; sizeBytes: number }> {
  const where = `The model file ${modelPath}`;
  let sizeBytes: number;
  try {
    const s = await stat(modelPath);
    if (s.isDirectory()) throw human(`${where} is a folder, not a .gguf file.`);
    sizeBytes = s.size;
  } catch (err) {
    if (err instanceof ResponseError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw human(`${where} does not exist.`);
    if (code === 'EACCES') throw human(`${where} cannot be read (permission denied).`);
    throw human(`${where} cannot be read: ${errorText(err)}.`);
  }
  if (sizeBytes === 0) throw human(`${where} is empty.`);
  const magic = Buffer.alloc(4);
  const handle = await open(modelPath, 'r');
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (magic.toString('latin1') !== 'GGUF') throw human(`${where} is not a GGUF file.`);

  let info: GgufFileInfo;
  try {
    info = await lib.readGgufFileInfo(modelPath, { logWarnings: false, sourceType: 'filesystem' });
  } catch {
    throw human(`${where} is truncated or corrupt.`);
  }
  const metadata = info.metadata as unknown as Record<string, unknown>;
  const general = metadata['general'] as Record<string, unknown> | undefined;
  const arch = general?.['architecture'];
  if (typeof arch !== 'string' || arch === '') throw human(`${where} does not say which model architecture it is.`);
  const archKeys = (metadata[arch] ?? {}) as Record<string, unknown>;
  for (const key of requiredKeys) {
    if (recurrentArchitecture.test(arch) && (abortingKeys as readonly string[]).includes(key)) continue;
    const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], archKeys);
    const present = typeof value === 'number' ? value > 0 : Array.isArray(value) ? value.length > 0 : false;
    if (!present) throw human(`${where} is missing ${arch}.${key}, so llama.cpp cannot load it.`);
  }
  return { info, sizeBytes };
}

/** Tensor data must fit inside the file; a cut download fails here rather than in native code. */
async function checkTensorData(modelPath: string, info: GgufFileInfo, sizeBytes: number, llama: Llama, lib: NodeLlamaCpp): Promise<void> {
  if (info.splicedParts > 1 || info.infoEndOffset == null) return;
  let dataBytes: number;
  try {
    dataBytes = (await lib.GgufInsights.from(info, llama)).modelSize;
  } catch {
    throw human(`The model file ${modelPath} is truncated or corrupt.`);
  }
  if (info.infoEndOffset + dataBytes > sizeBytes) throw human(`The model file ${modelPath} is truncated or corrupt.`);
}

// ---------------------------------------------------------------------------------------------
// Backend

const backendLabels: Record<Exclude<GpuChoice, 'auto' | 'cpu'>, string> = { cuda: 'CUDA', metal: 'Metal', vulkan: 'Vulkan' };

interface LlamaState {
  llama: Llama;
  requested: GpuChoice;
  fallbackReason: string | null;
}
let llamaState: LlamaState | null = null;

function llamaLogger(level: LlamaLogLevel, message: string): void {
  const text = message.trimEnd();
  if (text !== '') log(`[llama.cpp ${level}] ${text}`);
}

async function ensureLlama(gpu: GpuChoice, threads: number, lib: NodeLlamaCpp): Promise<LlamaState> {
  if (llamaState && llamaState.requested === gpu && !llamaState.llama.disposed) {
    llamaState.llama.maxThreads = threads;
    return llamaState;
  }
  if (llamaState) await llamaState.llama.dispose();
  llamaState = null;
  const base = { build: 'never', maxThreads: threads, logLevel: lib.LlamaLogLevel.warn, logger: llamaLogger, progressLogs: false } as const;
  if (gpu === 'auto' || gpu === 'cpu') {
    try {
      const llama = await lib.getLlama({ ...base, gpu: gpu === 'auto' ? 'auto' : false });
      return (llamaState = { llama, requested: gpu, fallbackReason: null });
    } catch (err) {
      throw human(`llama.cpp could not start on this machine: ${errorText(err)}.`);
    }
  }
  const fallbackReason = `${backendLabels[gpu]} is not available on this machine, so the model runs on the CPU.`;
  try {
    const llama = await lib.getLlama({ ...base, gpu });
    // Asked for a backend this platform never has (Metal on Linux), it quietly gives the CPU.
    return (llamaState = { llama, requested: gpu, fallbackReason: llama.gpu === gpu ? null : fallbackReason });
  } catch (err) {
    log(`${backendLabels[gpu]} backend unavailable: ${errorText(err)}`);
  }
  try {
    const llama = await lib.getLlama({ ...base, gpu: false });
    return (llamaState = { llama, requested: gpu, fallbackReason });
  } catch (err) {
    throw human(`Neither ${backendLabels[gpu]} nor the CPU backend of llama.cpp could start: ${errorText(err)}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// The loaded model. Nothing outside `loaded` keeps a reference, so an unload frees it all.

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** Made on the first chat turn: resolving the chat template costs ~300 ms that a wake for a completion need not pay. */
  chat: LlamaChat | null;
  result: LoadResult;
}
let loaded: Loaded | null = null;
const queue = new SerialQueue();
/** Generations in flight, aborted when the host shuts down. */
const running = new Set<AbortController>();

async function disposeLoaded(): Promise<void> {
  const current = loaded;
  loaded = null;
  if (!current) return;
  current.chat?.dispose({ disposeSequence: false });
  current.completion.dispose({ disposeSequence: false });
  current.sequence.dispose();
  await current.context.dispose();
  await current.model.dispose();
  // The file's metadata (vocabulary, template) is garbage now; without a full collection V8
  // keeps its heap grown. gc exists when the host runs with --expose-gc, as HostProcess starts it.
  (globalThis as { gc?: () => void }).gc?.();
}

async function load(params: LoadParams): Promise<LoadResult> {
  const lib = await libraryReady;
  const started = performance.now();
  const threads = params.threads > 0 ? params.threads : availableParallelism();
  // A bad file is refused while the model loaded before keeps serving.
  const { info, sizeBytes } = await validateModelFile(params.modelPath, lib);
  // Another backend means another llama, and nothing may outlive the llama it came from.
  if (llamaState?.requested !== params.gpu) await disposeLoaded();
  const { llama, fallbackReason } = await ensureLlama(params.gpu, threads, lib);
  await checkTensorData(params.modelPath, info, sizeBytes, llama, lib);
  await disposeLoaded();

  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: params.modelPath, gpuLayers: params.gpuLayers });
  } catch (err) {
    if (err instanceof lib.InsufficientMemoryError) {
      throw human(`There is not enough memory to load ${params.modelPath}; try fewer GPU layers or a smaller model.`);
    }
    throw human(`llama.cpp could not load ${params.modelPath}: ${errorText(err)}.`);
  }
  let context: LlamaContext;
  try {
    context = await model.createContext({ contextSize: params.contextSize, threads });
  } catch (err) {
    await model.dispose();
    if (err instanceof lib.InsufficientMemoryError) {
      throw human(`There is not enough memory for a context of ${params.contextSize} tokens; try a smaller context size.`);
    }
    throw human(`llama.cpp could not create a context of ${params.contextSize} tokens: ${errorText(err)}.`);
  }
  const sequence = context.getSequence();
  const infill = model.tokens.infill;
  const generalName = info.metadata.general?.name;
  const result: LoadResult = {
    name: typeof generalName === 'string' && generalName !== '' ? generalName : path.basename(params.modelPath, '.gguf'),
    sizeBytes,
    backend: (llama.gpu === false ? 'cpu' : llama.gpu) satisfies Backend,
    gpuLayers: model.gpuLayers,
    totalLayers: model.fileInsights.totalLayers,
    contextSize: context.contextSize,
    hasFim: infill.prefix != null && infill.suffix != null && infill.middle != null,
    fallbackReason,
    loadMs: Math.round(performance.now() - started),
  };
  loaded = {
    model,
    context,
    sequence,
    completion: new lib.LlamaCompletion({ contextSequence: sequence }),
    chat: null,
    result,
  };
  return result;
}

function requireLoaded(): Loaded {
  if (!loaded) throw human('No model is loaded in the model host.');
  return loaded;
}

// ---------------------------------------------------------------------------------------------
// Generation

const abortResult: GenerationResult = { text: '', stopReason: 'abort', tokens: 0 };

/** A CancellationToken as an AbortSignal, tracked so shutdown can abort it too. */
async function withAbort<T>(token: CancellationToken, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  running.add(controller);
  const subscription = token.onCancellationRequested(() => controller.abort());
  if (token.isCancellationRequested) controller.abort();
  try {
    return await work(controller.signal);
  } finally {
    subscription.dispose();
    running.delete(controller);
  }
}

/** Runs a generation in the queue; a request cancelled while it still waits answers at once. */
function queuedGeneration(signal: AbortSignal, task: () => Promise<GenerationResult>): Promise<GenerationResult> {
  let started = false;
  const queued = queue.run(() => {
    if (signal.aborted) return Promise.resolve(abortResult);
    started = true;
    return task();
  });
  return new Promise((resolve, reject) => {
    queued.then(resolve, reject);
    // Once generation has begun, its own result (the text so far, 'abort') is the answer.
    const onAbort = (): void => {
      if (!started) resolve(abortResult);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}





/** Drops the oldest turns (never the system prompt or the question) until prompt and answer fit. */
function fitChatHistory(current: Loaded, messages: HostChatMessage[], maxTokens: number): { messages: HostChatMessage[]; maxTokens: number } {
  const contextSize = current.context.contextSize;
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
    throw human(`The question and its context take ${total} tokens, too many for the model's ${contextSize}-token context; select less code or raise localLlm.contextSize.`);
  }
  return { messages: kept, maxTokens: Math.min(answer, room) };
}


/**
 * Tokens sampled since `before`. The library may sample one past maxTokens when the last token
 * is half of a UTF-8 character, and its onToken callback misses held-back tokens, so the
 * sequence's own meter is the count to trust.
 */
function generatedSince(current: Loaded, before: TokenMeterState): number {
  return current.sequence.tokenMeter.diff(before).usedOutputTokens;
}

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

async function infill(params: InfillParams, signal: AbortSignal): Promise<GenerationResult> {
  const current = requireLoaded();
  if (!current.result.hasFim) {
    throw human(`The model ${current.result.name} has no fill-in-the-middle tokens, so it cannot complete code inline.`);
  }
  const budget = fitInfillBudget(current.context.contextSize, params);
  const prefix = lastTokens(current.model, params.prefix, budget.prefixTokens);
  const suffix = firstTokens(current.model, params.suffix, budget.suffixTokens);
  const maxLines = Math.max(1, params.maxLines);
  const lineLimit = new AbortController();
  const stop = AbortSignal.any([signal, lineLimit.signal]);
  let streamed = '';
  let text = '';
  const meterBefore = current.sequence.tokenMeter.getState();
  let stopReason: StopReason;
  try {
    const response = await current.completion.generateInfillCompletionWithMeta(prefix, suffix, {
      maxTokens: budget.maxTokens,
      customStopTriggers: params.stopTexts.filter((s) => s !== ''),
      signal: stop,
      stopOnAbortSignal: true,
      onTextChunk: (chunk) => {
        streamed += chunk;
        if (nthNewline(streamed, maxLines) >= 0) lineLimit.abort();
      },
    });
    text = response.response;
    stopReason = mapStopReason(response.metadata.stopReason);
  } catch (err) {
    // Aborting before the first token throws instead of returning.
    if (!stop.aborted) throw human(`The completion failed: ${errorText(err)}.`);
    stopReason = 'abort';
  }
  const tokens = generatedSince(current, meterBefore);
  const cut = nthNewline(text, maxLines);
  if (cut >= 0) return { text: text.slice(0, cut), stopReason: 'maxLines', tokens };
  if (lineLimit.signal.aborted && !signal.aborted) stopReason = 'maxLines';
  return { text, stopReason, tokens };
}

function toHistoryItem(m: HostChatMessage): ChatHistoryItem {
  if (m.role === 'assistant') return { type: 'model', response: [m.text] };
  return { type: m.role, text: m.text };
}

async function chat(params: ChatGenerateParams, signal: AbortSignal): Promise<GenerationResult> {
  const current = requireLoaded();
  if (params.messages.length === 0) throw human('The chat request has no messages.');
  const fitted = fitChatHistory(current, params.messages, params.maxTokens);
  const history = fitted.messages.map(toHistoryItem);
  history.push({ type: 'model', response: [] });
  const meterBefore = current.sequence.tokenMeter.getState();
  try {
    current.chat ??= new (await libraryReady).LlamaChat({ contextSequence: current.sequence });
    const response = await current.chat.generateResponse(history, {
      maxTokens: fitted.maxTokens,
      signal,
      stopOnAbortSignal: true,
      onTextChunk: (text) => {
        if (text !== '') void connection.sendNotification(chatChunkNotification, { streamId: params.streamId, text }).catch(() => undefined);
      },
    });
    return { text: response.response, stopReason: mapStopReason(response.metadata.stopReason), tokens: generatedSince(current, meterBefore) };
  } catch (err) {
    if (signal.aborted) return { ...abortResult, tokens: generatedSince(current, meterBefore) };
    throw human(`The chat answer failed: ${errorText(err)}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Stats and lifetime

async function stats(): Promise<HostStats> {
  let vramUsedBytes: number | null = null;
  let vramTotalBytes: number | null = null;
  const llama = llamaState?.llama;
  if (llama && !llama.disposed && llama.gpu !== false) {
    const vram = await llama.getVramState();
    vramUsedBytes = vram.used;
    vramTotalBytes = vram.total;
  }
  return { rssBytes: ownRssBytes(), vramUsedBytes, vramTotalBytes, loaded: loaded !== null };
}

let shuttingDown = false;

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const controller of running) controller.abort();
  await queue.run(async () => {
    await disposeLoaded();
    await llamaState?.llama.dispose();
    llamaState = null;
  });
}

function refuseWhileStopping(): void {
  if (shuttingDown) throw human('The model host is shutting down.');
}

/** Whatever a handler throws reaches the server as one sentence, never as a stack. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ResponseError) throw err;
    log(`Model host request failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    throw human(`The model host failed: ${errorText(err).replace(/[.\s]+$/, '')}.`);
  }
}

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

connection.onRequest(loadRequest, (params) =>
  answer(async () => {
    refuseWhileStopping();
    return queue.run(() => load(params));
  }),
);
connection.onRequest(unloadRequest, () =>
  answer(async () => {
    await libraryReady;
    // Waits behind any running generation: disposing under it would kill the process.
    return queue.run(async () => {
      await disposeLoaded();
      return stats();
    });
  }),
);
connection.onRequest(infillRequest, (params, token) =>
  answer(async () => {
    refuseWhileStopping();
    return withAbort(token, (signal) => queuedGeneration(signal, () => infill(params, signal)));
  }),
);
connection.onRequest(chatRequest, (params, token) =>
  answer(async () => {
    refuseWhileStopping();
    return withAbort(token, (signal) => queuedGeneration(signal, () => chat(params, signal)));
  }),
);
connection.onRequest(statsRequest, () =>
  answer(async () => {
    await libraryReady;
    return stats();
  }),
);
connection.onRequest(shutdownRequest, () =>
  answer(async () => {
    await shutdown();
    // Let the reply leave before the process does.
    setTimeout(() => process.exit(0), 20);
  }),
);

process.on('uncaughtException', (err) => {
  log(`Model host error: ${err.stack ?? errorText(err)}`);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  log(`Model host unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});
// The language server is gone: nobody can use the model any more.
process.on('disconnect', () => process.exit(0));
libraryReady.catch((err: unknown) => {
  log(`node-llama-cpp could not be imported: ${errorText(err)}`);
  process.exit(1);
});

connection.listen();
