// The model host: a child process of the language server that serves the engine (engine.ts)
// over IPC (vscode-jsonrpc). It owns node-llama-cpp and nothing else; if llama.cpp aborts, only
// this process dies.
import {
  CancellationToken,
  createMessageConnection,
  ErrorCodes,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
} from 'vscode-jsonrpc/node';
import { errorMessage } from '../shared/errors';
import { LlamaEngine } from './engine';
import { EngineError, nativeMessage } from './engineError';
import {
  chatChunkNotification,
  chatRequest,
  infillRequest,
  loadRequest,
  shutdownRequest,
  statsRequest,
  unloadRequest,
  type GenerationResult,
} from './protocol';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const engine = new LlamaEngine({ log });
const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

/** A CancellationToken as an AbortSignal, for as long as `work` runs. */
async function withSignal<T>(token: CancellationToken, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const subscription = token.onCancellationRequested(() => controller.abort());
  if (token.isCancellationRequested) controller.abort();
  try {
    return await work(controller.signal);
  } finally {
    subscription.dispose();
  }
}

/** Whatever a handler throws reaches the server as one sentence, never as a stack. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EngineError) throw new ResponseError<void>(ErrorCodes.InternalError, err.message);
    log(`Model host request failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    throw new ResponseError<void>(ErrorCodes.InternalError, `The model host failed: ${nativeMessage(err)}.`);
  }
}

connection.onRequest(loadRequest, (params) => answer(() => engine.load(params)));
connection.onRequest(unloadRequest, () => answer(() => engine.unload()));
connection.onRequest(infillRequest, (params, token) =>
  answer(async (): Promise<GenerationResult> => {
    // promptTokens is for the benchmarks; the protocol's result has no such field.
    const { text, stopReason, tokens } = await withSignal(token, (signal) => engine.infill(params, signal));
    return { text, stopReason, tokens };
  }),
);
connection.onRequest(chatRequest, (params, token) =>
  answer(() =>
    withSignal(token, (signal) =>
      engine.chat(
        { messages: params.messages, maxTokens: params.maxTokens },
        (text) => void connection.sendNotification(chatChunkNotification, { streamId: params.streamId, text }).catch(() => undefined),
        signal,
      ),
    ),
  ),
);
connection.onRequest(statsRequest, () => answer(() => engine.stats()));
connection.onRequest(shutdownRequest, () =>
  answer(async () => {
    await engine.dispose();
    // Let the reply leave before the process does.
    setTimeout(() => process.exit(0), 20);
  }),
);

process.on('uncaughtException', (err) => {
  log(`Model host error: ${err.stack ?? errorMessage(err)}`);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  log(`Model host unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});
// The language server is gone: nobody can use the model any more.
process.on('disconnect', () => process.exit(0));
engine.ready().catch((err: unknown) => {
  log(`node-llama-cpp could not be imported: ${errorMessage(err)}`);
  process.exit(1);
});

connection.listen();
