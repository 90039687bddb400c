// Editor activity -> `localLlm/activity`, throttled. The server uses it to keep the model awake
// (and to wake it early when `localLlm.wakeOnActivity` is on).
import * as vscode from 'vscode';
import type { ActivityKind } from '../../../server/src/shared/protocol';
import { isCodeDocument } from '../editorDocuments';
import { ActivityThrottle } from './throttle';

export const activityIntervalMs = 3000;

/** `chatDraft`: the user writes a question in the chat panel, which is typing too. */
export function watchActivity(send: (kind: ActivityKind) => void, chatDraft: vscode.Event<void>): vscode.Disposable {
  const throttle = new ActivityThrottle<ActivityKind>(activityIntervalMs, send);
  const subscriptions: vscode.Disposable[] = [
    chatDraft(() => throttle.note('typing')),
    vscode.workspace.onDidChangeTextDocument((e) => {
      // Only the user's own typing: the active editor's document, with a real change.
      if (e.contentChanges.length > 0 && isCodeDocument(e.document) && e.document === vscode.window.activeTextEditor?.document) {
        throttle.note('typing');
      }
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (isCodeDocument(e.textEditor.document)) throttle.note('cursor');
    }),
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor && isCodeDocument(editor.document)) throttle.note('editor');
    }),
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) throttle.note('focus');
    }),
  ];
  return new vscode.Disposable(() => {
    throttle.dispose();
    for (const s of subscriptions) s.dispose();
  });
}
