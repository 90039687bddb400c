// Files the user opened or switched to, and the regions edited in them, as chunks. A file gives
// its chunks when the user leaves it for another editor: only then is it "another file", and the
// ring changes at an editor switch instead of while the user types (each change to the ring moves
// the prompt's prefix, which the server then evaluates again in the background).
import * as vscode from 'vscode';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { chunksOnLeaving, noteEdit, type Visit } from './leaving';
import type { ContextPrivacy } from './privacy';

interface OpenVisit extends Visit {
  document: vscode.TextDocument;
}

export function watchEditors(privacy: ContextPrivacy, offer: (chunk: ContextChunk) => void): vscode.Disposable {
  let visit: OpenVisit | null = null;

  const begin = (editor: vscode.TextEditor | undefined): void => {
    const document = editor?.document;
    visit =
      document && privacy.allows(document.uri)
        ? { document, since: Date.now(), cursorLine: editor.selection.active.line, edits: null }
        : null;
  };

  const leave = (): void => {
    const v = visit;
    visit = null;
    if (!v || v.document.isClosed || !privacy.allows(v.document.uri)) return;
    const document = v.document;
    const origin = { path: privacy.chunkPath(document.uri), uri: document.uri.toString() };
    const source = { lineCount: document.lineCount, lineAt: (i: number) => document.lineAt(i).text };
    for (const chunk of chunksOnLeaving(v, Date.now(), origin, source)) offer(chunk);
  };

  begin(vscode.window.activeTextEditor);
  const subscriptions = [
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      // Focus moving to a panel or the output leaves no text editor; that is no switch of files.
      if (!editor || editor.document === visit?.document) return;
      leave();
      begin(editor);
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (visit && e.textEditor.document === visit.document) visit.cursorLine = e.selections[0].active.line;
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      // Only the user's own edits: the document being visited, in the active editor.
      const v = visit;
      if (!v || e.document !== v.document || e.contentChanges.length === 0) return;
      if (vscode.window.activeTextEditor?.document !== e.document) return;
      for (const change of e.contentChanges) v.edits = noteEdit(v.edits, change.range.start.line, change.text.split('\n').length);
    }),
  ];
  return new vscode.Disposable(() => {
    for (const s of subscriptions) s.dispose();
  });
}
