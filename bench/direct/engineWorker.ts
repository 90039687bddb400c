// The direct engine: node-llama-cpp called the way the model host calls it (same getLlama
// options, same context, same token-bounded infill), in a plain Node process that answers
// EngineCommands over Node IPC. Bundled to dist/bench/engineWorker.js and run with plain `node`,
// so its start costs what the model host's start costs.
import type {
  Llama,
  LlamaChat,
  LlamaCompletion,
  LlamaContext,
  LlamaContextSequence,
  LlamaModel,
  ChatHistoryItem,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type {
  EngineChatMessage,
  EngineCommand,
  EngineInfillParams,
  EngineInfillResult,
  EngineLoadParams,
  EngineReply,
  EngineStats,
  EngineTimings,
} from './engineProtocol';
// The host's own token windows and budget, so both sides evaluate the same tokens.
import { firstTokens, fitInfillBudget, lastTokens, nthNewline } from '../../server/src/host/tokenWindow';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

const moduleStart = performance.now();
let importMs: number | null = null;
// Imported at start, as the model host does.
const libraryReady: Promise<NodeLlamaCpp> = import('node-llama-cpp').then((lib) => {
  importMs = performance.now() - moduleStart;
  return lib;
});

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** Made on the first chat, as the model host does: its template setup costs ~0.5 s per load. */
  chat: LlamaChat | null;
}

let llama: Llama | null = null;
let loaded: Loaded | null = null;
let importReported = false;

function send(reply: EngineReply): void {
  process.send?.(reply);
}

async function load(params: EngineLoadParams): Promise<EngineTimings> {
  const lib = await libraryReady;
  let getLlamaMs: number | null = null;
  if (!llama) {
    const t = performance.now();
    llama = await lib.getLlama({
      gpu: params.gpu === 'cpu' ? false : params.gpu,
      build: 'never',
      maxThreads: params.threads,
      logLevel: lib.LlamaLogLevel.warn,
      progressLogs: false,
    });
    getLlamaMs = performance.now() - t;
  }
  await unload();
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: params.modelPath, gpuLayers: params.gpuLayers });
  const t1 = performance.now();
  const context = await model.createContext({ contextSize: params.contextSize, threads: params.threads });
  const t2 = performance.now();
  const sequence = context.getSequence();
  loaded = {
    model,
    context,
    sequence,
    completion: new lib.LlamaCompletion({ contextSequence: sequence }),
    chat: null,
  };
  const timings: EngineTimings = {
    importMs: importReported ? null : importMs,
    getLlamaMs,
    loadModelMs: t1 - t0,
    createContextMs: t2 - t1,
  };
  importReported = true;
  return timings;
}

async function unload(): Promise<void> {
  const current = loaded;
  loaded = null;
  if (!current) return;
  current.chat?.dispose({ disposeSequence: false });
  current.completion.dispose({ disposeSequence: false });
  current.sequence.dispose();
  await current.context.dispose();
  await current.model.dispose();
  (globalThis as { gc?: () => void }).gc?.();
}

function requireLoaded(): Loaded {
  if (!loaded) throw new Error('No model is loaded in the direct engine.');
  return loaded;
}

async function infill(p: EngineInfillParams): Promise<EngineInfillResult> {
  const started = performance.now();
  const current = requireLoaded();
  const budget = fitInfillBudget(current.context.contextSize, p);
  const prefix = lastTokens(current.model, p.prefix, budget.prefixTokens);
  const suffix = firstTokens(current.model, p.suffix, budget.suffixTokens);
  const lineLimit = new AbortController();
  let streamed = '';
  const meterBefore = current.sequence.tokenMeter.getState();
  let text = '';
  let stopReason: string;
  try {
    const response = await current.completion.generateInfillCompletionWithMeta(prefix, suffix, {
      maxTokens: budget.maxTokens,
      customStopTriggers: p.stopTexts.filter((s) => s !== ''),
      signal: lineLimit.signal,
      stopOnAbortSignal: true,
      onTextChunk: (chunk) => {
        streamed += chunk;
        if (nthNewline(streamed, Math.max(1, p.maxLines)) >= 0) lineLimit.abort();
      },
    });
    text = response.response;
    stopReason = response.metadata.stopReason;
  } catch (err) {
    if (!lineLimit.signal.aborted) throw err;
    stopReason = 'abort';
  }
  const tokens = current.sequence.tokenMeter.diff(meterBefore).usedOutputTokens;
  const cut = nthNewline(text, Math.max(1, p.maxLines));
  if (cut >= 0) {
    text = text.slice(0, cut);
    stopReason = 'maxLines';
  }
  return { text, stopReason, tokens, promptTokens: prefix.length + suffix.length, ms: performance.now() - started };
}

function toHistoryItem(m: EngineChatMessage): ChatHistoryItem {
  if (m.role === 'assistant') return { type: 'model', response: [m.text] };
  return { type: m.role, text: m.text };
}

async function chat(messages: EngineChatMessage[], maxTokens: number, stopAfterChunks: number): Promise<EngineReply> {
  const current = requireLoaded();
  const started = performance.now();
  current.chat ??= new (await libraryReady).LlamaChat({ contextSequence: current.sequence });
  const history = messages.map(toHistoryItem);
  history.push({ type: 'model', response: [] });
  const stop = new AbortController();
  let firstChunkMs: number | null = null;
  let chunks = 0;
  let text = '';
  try {
    const response = await current.chat.generateResponse(history, {
      maxTokens,
      signal: stop.signal,
      stopOnAbortSignal: true,
      onTextChunk: (piece) => {
        if (piece === '') return;
        if (firstChunkMs === null) firstChunkMs = performance.now() - started;
        if (++chunks >= stopAfterChunks) stop.abort();
      },
    });
    text = response.response;
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
  return { op: 'chat', firstChunkMs, totalMs: performance.now() - started, text };
}

async function stats(): Promise<EngineStats> {
  await libraryReady;
  let vramUsedBytes: number | null = null;
  if (llama && llama.gpu !== false) vramUsedBytes = (await llama.getVramState()).used;
  const rss = process.memoryUsage().rss;
  return { rssBytes: rss, vramUsedBytes, backend: llama ? (llama.gpu === false ? 'cpu' : llama.gpu) : null };
}

async function handle(command: EngineCommand): Promise<EngineReply> {
  switch (command.op) {
    case 'load':
      return { op: 'load', timings: await load(command.params) };
    case 'unload':
      await unload();
      return { op: 'unload', stats: await stats() };
    case 'infill':
      return { op: 'infill', result: await infill(command.params) };
    case 'wakeInfill': {
      const started = performance.now();
      const timings = await load(command.load);
      const result = await infill(command.infill);
      return { op: 'wakeInfill', timings, result, totalMs: performance.now() - started };
    }
    case 'chat':
      return chat(command.messages, command.maxTokens, command.stopAfterChunks);
    case 'saveState': {
      const t = performance.now();
      const { fileSize } = await requireLoaded().sequence.saveStateToFile(command.file);
      return { op: 'saveState', ms: performance.now() - t, bytes: fileSize };
    }
    case 'loadState': {
      const t = performance.now();
      await requireLoaded().sequence.loadStateFromFile(command.file, { acceptRisk: true });
      return { op: 'loadState', ms: performance.now() - t };
    }
    case 'stats':
      return { op: 'stats', stats: await stats() };
    case 'exit':
      await unload();
      await llama?.dispose();
      setTimeout(() => process.exit(0), 10);
      return { op: 'stats', stats: await stats() };
  }
}

// Commands run one at a time, in order, as the host's queue runs generations.
let tail: Promise<unknown> = Promise.resolve();
process.on('message', (command: EngineCommand) => {
  tail = tail.then(async () => {
    try {
      send(await handle(command));
    } catch (err) {
      send({ op: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
});
process.on('disconnect', () => process.exit(0));
