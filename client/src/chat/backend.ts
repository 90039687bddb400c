// The chat requests over the language client: the answer streams as partial results on a
// progress token, and an AbortSignal becomes LSP cancellation (`$/cancelRequest`).
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError, type LanguageClient } from 'vscode-languageclient/node';
import {
  ChatPrefillRequest,
  ChatRequest,
  ChatResetRequest,
  type ChatPrefillResult,
  type ChatResult,
} from '../../../server/src/shared/protocol';
import type { ChatBackend } from './session';

/** Runs a request that `signal` cancels; a cancelled one answers `cancelled()`. */
async function cancellable<T>(signal: AbortSignal, cancelled: () => T, run: (token: vscode.CancellationToken) => Promise<T>): Promise<T> {
  const cancel = new vscode.CancellationTokenSource();
  const onAbort = (): void => cancel.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    if (signal.aborted) cancel.cancel();
    return await run(cancel.token);
  } catch (err) {
    if (err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled) return cancelled();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    cancel.dispose();
  }
}

export function chatBackend(client: () => LanguageClient): ChatBackend {
  return {
    async send(request, onChunk, signal) {
      const lc = client();
      const partialResultToken = randomUUID();
      const progress = lc.onProgress(ChatRequest.type, partialResultToken, (chunk) => onChunk(chunk.text));
      try {
        return await cancellable<ChatResult>(
          signal,
          () => ({ text: '', stopReason: 'abort' }),
          (token) => lc.sendRequest(ChatRequest.type, { ...request, partialResultToken }, token),
        );
      } finally {
        progress.dispose();
      }
    },
    prefill(request, signal) {
      return cancellable<ChatPrefillResult>(
        signal,
        () => ({ promptTokens: 0, evaluatedTokens: 0, stopped: true }),
        (token) => client().sendRequest(ChatPrefillRequest.type, request, token),
      );
    },
    async reset(sessionId) {
      await client().sendRequest(ChatResetRequest.type, { sessionId });
    },
  };
}
