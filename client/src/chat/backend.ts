// The chat request over the language client: the answer streams as partial results on a
// progress token, and an AbortSignal becomes LSP cancellation (`$/cancelRequest`).
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError, type LanguageClient } from 'vscode-languageclient/node';
import { ChatRequest, ChatResetRequest, type ChatResult } from '../../../server/src/shared/protocol';
import type { ChatBackend } from './session';

export function chatBackend(client: () => LanguageClient): ChatBackend {
  return {
    async send(request, onChunk, signal) {
      const lc = client();
      const partialResultToken = randomUUID();
      const cancel = new vscode.CancellationTokenSource();
      const onAbort = (): void => cancel.cancel();
      signal.addEventListener('abort', onAbort);
      const progress = lc.onProgress(ChatRequest.type, partialResultToken, (chunk) => onChunk(chunk.text));
      try {
        if (signal.aborted) cancel.cancel();
        return await lc.sendRequest(ChatRequest.type, { ...request, partialResultToken }, cancel.token);
      } catch (err) {
        if (err instanceof ResponseError && err.code === LSPErrorCodes.RequestCancelled) {
          const stopped: ChatResult = { text: '', stopReason: 'abort' };
          return stopped;
        }
        throw err;
      } finally {
        progress.dispose();
        signal.removeEventListener('abort', onAbort);
        cancel.dispose();
      }
    },
    async reset(sessionId) {
      await client().sendRequest(ChatResetRequest.type, { sessionId });
    },
  };
}
