// The benchmark's requests over the real LSP connection (test/server/lspClient.ts starts the
// built server over stdio): timed completions, streamed chat, sleep and wake.
import {
  CancellationTokenSource,
  DidCloseTextDocumentNotification,
  InlineCompletionRequest,
  type CancellationToken,
  type InlineCompletionItem,
  type Position,
} from 'vscode-languageserver-protocol/node';
import {
  ChatRequest,
  SleepRequest,
  WakeRequest,
  type ChatContext,
  type ChatResult,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import { startServer, type TestServer } from '../../test/server/lspClient';

export { startServer, type TestServer };

export interface TimedCompletion {
  /** What the editor would show, or null for no item. */
  text: string | null;
  ms: number;
}

export async function complete(server: TestServer, uri: string, position: Position, token?: CancellationToken): Promise<TimedCompletion> {
  const started = performance.now();
  const items = (await server.connection.sendRequest(
    InlineCompletionRequest.type,
    // Automatic, as while typing: an invoked request (Show Next) would draw the other candidates too.
    { textDocument: { uri }, position, context: { triggerKind: 2 } },
    token,
  )) as InlineCompletionItem[] | null;
  const ms = performance.now() - started;
  const first = items?.[0]?.insertText;
  return { text: typeof first === 'string' ? first : null, ms };
}

export function close(server: TestServer, uri: string): void {
  void server.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
}

export const sleep = (server: TestServer): Promise<ModelStatus> => server.connection.sendRequest(SleepRequest.type);
export const wake = (server: TestServer): Promise<ModelStatus> => server.connection.sendRequest(WakeRequest.type);

export interface TimedChat {
  result: ChatResult;
  /** From sending the question to its first streamed piece; null when nothing streamed. */
  firstChunkMs: number | null;
  /** ... to its last streamed piece. */
  lastChunkMs: number | null;
  totalMs: number;
  chunks: number;
}

/**
 * One chat turn, cancelled (as the Stop button does) once `stopAfterChunks` pieces have streamed,
 * because random weights rarely end an answer on their own.
 */
export async function chat(
  server: TestServer,
  sessionId: string,
  message: string,
  stopAfterChunks: number,
  context?: ChatContext,
): Promise<TimedChat> {
  const partialResultToken = `bench-${sessionId}-${performance.now()}`;
  const cancel = new CancellationTokenSource();
  const started = performance.now();
  let firstChunkMs: number | null = null;
  let lastChunkMs: number | null = null;
  let chunks = 0;
  const subscription = server.connection.onProgress(ChatRequest.type, partialResultToken, (chunk) => {
    if (chunk.text === '') return;
    chunks++;
    lastChunkMs = performance.now() - started;
    if (firstChunkMs === null) firstChunkMs = lastChunkMs;
    if (chunks >= stopAfterChunks) cancel.cancel();
  });
  try {
    const result = await server.connection.sendRequest(ChatRequest.type, { sessionId, message, context, partialResultToken }, cancel.token);
    return { result, firstChunkMs, lastChunkMs, totalMs: performance.now() - started, chunks };
  } finally {
    subscription.dispose();
    cancel.dispose();
  }
}
