// Files the user opened or switched to, and the regions edited in them, as chunks. A file gives
// its chunks when the user leaves it for another editor: only then is it "another file", and the
// ring changes at an editor switch instead of while the user types (each change to the ring moves
// the prompt's prefix, which the server then evaluates again in the background).
import * as vscode from 'vscode';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { chunkOf, mostlyOverlap, spanAround, spanOver, type LineSource } from './chunks';
import type { ContextPrivacy } from './privacy';

/** A file glanced at for less than this (flicking through tabs) gives no chunk unless edited. */
export const dwellMs = 1000;

interface Visit {
  document: vscode.TextDocument;
  since: number;
  cursorLine: number;
  /** Lines touched by the user's edits during this visit: first, last, most recent. */
  edits: { first: number; last: number; latest: number } | null;
}

function lines(document: vscode.TextDocument): LineSource {
  return { lineCount: document.lineCount, lineAt: (i) => document.lineAt(i).text };
}

export function watchEditors(privacy: ContextPrivacy, offer: (chunk: ContextChunk) => void): vscode.Disposable {
  let visit: Visit | null = null;

  const begin = (editor: vscode.TextEditor | undefined): void => {
    const document = editor?.document;
    visit = document && privacy.allows(document.uri) ? { document, since: Date.now(), cursorLine: editor.selection.active.line, edits: null } : null;
  };

  const leave = (): void => {
    const v = visit;
    visit = null;
    if (!v || v.document.isClosed || !privacy.allows(v.document.uri)) return;
    const origin = { path: privacy.chunkPath(v.document.uri), uri: v.document.uri.toString() };
    const source = lines(v.document);
    const around = spanAround(v.cursorLine, source.lineCount);
    if (v.edits) {
      const edited = spanOver(v.edits.first, v.edits.last, v.edits.latest, source.lineCount);
      const chunk = chunkOf('edit', origin, source, edited);
      if (chunk) offer(chunk);
      // The cursor usually rests where it edited; one chunk says it all then.
      if (mostlyOverlap(edited, around)) return;
    } else if (Date.now() - v.since < dwellMs) {
      return;
    }
    const chunk = chunkOf('file', origin, source, around);
    if (chunk) offer(chunk);
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
      if (!visit || e.document !== visit.document || e.contentChanges.length === 0) return;
      if (vscode.window.activeTextEditor?.document !== e.document) return;
      for (const change of e.contentChanges) {
        const first = change.range.start.line;
        const last = first + change.text.split('\n').length - 1;
        const prev = visit.edits;
        visit.edits = prev ? { first: Math.min(prev.first, first), last: Math.max(prev.last, last), latest: last } : { first, last, latest: last };
      }
    }),
  ];
  return new vscode.Disposable(() => {
    for (const s of subscriptions) s.dispose();
  });
}
