// One chat turn that asks the model for code (Edit Selection, Merge with the model): a session of
// its own, forgotten by the server afterwards, streamed under a cancellable progress notification
// that counts the lines written. Nothing here touches a file; the caller makes the diff.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ChatPart, ChatResult } from '../../../server/src/shared/protocol';
import type { ChatBackend } from '../chat/session';

export interface RewriteTurn {
  /** The progress notification's title. */
  title: string;
  message: string;
  parts: ChatPart[];
  /** The session id's prefix, so the server's log says what the turn was for. */
  purpose: string;
}

/** The answer, or null when the user cancelled (nothing to review). */
export async function runRewriteTurn(backend: ChatBackend, turn: RewriteTurn): Promise<ChatResult | null> {
  const sessionId = `${turn.purpose}-${randomUUID()}`;
  const abort = new AbortController();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: turn.title, cancellable: true },
    async (progress, token) => {
      token.onCancellationRequested(() => abort.abort());
      progress.report({ message: 'waiting for the model…' });
      let written = '';
      try {
        return await backend.send(
          { sessionId, message: turn.message, parts: turn.parts },
          (piece) => {
            written += piece;
            const lines = written.split('\n').length;
            progress.report({ message: `${lines} line${lines === 1 ? '' : 's'} written…` });
          },
          abort.signal,
        );
      } finally {
        // The session was for this one turn; the server need not keep it.
        void backend.reset(sessionId).catch(() => undefined);
      }
    },
  );
  if (abort.signal.aborted || result.stopReason === 'abort') return null;
  if (result.stopReason === 'error') throw new Error('The model stopped with an error; see Show Logs. Nothing changed.');
  return result;
}
