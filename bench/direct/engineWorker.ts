// The direct engine: the model host's engine module (server/src/host/llama/llamaEngine.ts) in a plain Node
// process that answers EngineCommands over Node IPC, so the baseline runs the very same load and
// generation code without the language server and the host's JSON-RPC. Bundled to
// dist/bench/engineWorker.js and run with plain `node`, so its start costs what the host's does.
import { errorMessage } from '../../server/src/shared/errors';
import { LlamaEngine } from '../../server/src/host/llama/llamaEngine';
import type {
  EngineCommand,
  EngineInfillParams,
  EngineInfillResult,
  EngineLoadParams,
  EngineReply,
  EngineStats,
  EngineTimings,
} from './engineProtocol';

const engine = new LlamaEngine();
let importReported = false;
/** Never aborted: the benchmarks stop chat answers themselves and let completions run out. */
const never = new AbortController().signal;

function send(reply: EngineReply): void {
  process.send?.(reply);
}

async function load(params: EngineLoadParams): Promise<EngineTimings> {
  await engine.load(params);
  const phases = engine.lastLoadTimings;
  if (!phases) throw new Error('The engine loaded without timings.');
  const timings: EngineTimings = { importMs: importReported ? null : engine.importMs, ...phases };
  importReported = true;
  return timings;
}

async function infill(params: EngineInfillParams): Promise<EngineInfillResult> {
  const started = performance.now();
  const { text, stopReason, tokens, figures } = await engine.infill(params, never);
  return { text, stopReason, tokens, promptTokens: figures.promptTokens, ms: performance.now() - started };
}

async function chat(command: Extract<EngineCommand, { op: 'chat' }>): Promise<EngineReply> {
  const started = performance.now();
  const stop = new AbortController();
  let firstChunkMs: number | null = null;
  let chunks = 0;
  const result = await engine.chat(
    { messages: command.messages, maxTokens: command.maxTokens },
    () => {
      firstChunkMs ??= performance.now() - started;
      // As the Stop button does.
      if (++chunks >= command.stopAfterChunks) stop.abort();
    },
    stop.signal,
  );
  return { op: 'chat', firstChunkMs, totalMs: performance.now() - started, text: result.text };
}

async function stats(): Promise<EngineStats> {
  const { rssBytes, vramUsedBytes } = await engine.stats();
  return { rssBytes, vramUsedBytes, backend: engine.backend };
}

async function handle(command: EngineCommand): Promise<EngineReply> {
  switch (command.op) {
    case 'load':
      return { op: 'load', timings: await load(command.params) };
    case 'unload':
      await engine.unload();
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
      return chat(command);
    case 'saveStates': {
      const t = performance.now();
      const { saved } = await engine.saveStates(command.capBytes);
      return { op: 'saveStates', ms: performance.now() - t, saved };
    }
    case 'restoreState': {
      const t = performance.now();
      await engine.restoreSaved(command.kind);
      return { op: 'restoreState', ms: performance.now() - t };
    }
    case 'stats':
      return { op: 'stats', stats: await stats() };
    case 'exit':
      await engine.dispose();
      setTimeout(() => process.exit(0), 10);
      return { op: 'stats', stats: await stats() };
  }
}

// Commands run one at a time and replies go back in order, as DirectEngine expects.
let tail: Promise<unknown> = Promise.resolve();
process.on('message', (command: EngineCommand) => {
  tail = tail.then(async () => {
    try {
      send(await handle(command));
    } catch (err) {
      send({ op: 'error', message: errorMessage(err) });
    }
  });
});
process.on('disconnect', () => process.exit(0));
engine.ready().catch((err: unknown) => {
  process.stderr.write(`node-llama-cpp could not be imported: ${errorMessage(err)}\n`);
  process.exit(1);
});
