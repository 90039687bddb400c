// Text the user copied or cut in the editor. VS Code has no copy event for extensions, and
// overriding the copy keybindings could break copying (terminal, webviews, other keymaps), so
// this only reads the clipboard right after a non-empty selection goes away (a copy is usually
// followed by a move, a click or a switch of editor; a cut collapses it at once) and keeps the
// text only when it equals a selection just made in a file that may give context (selections.ts).
// Desktop only: in a browser (code-server, vscode.dev) reading the clipboard asks the user for
// permission, which a background feature must not do.
import * as vscode from 'vscode';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { clipboardChunk } from './chunks';
import type { ContextPrivacy } from './privacy';
import { RecentSelections, maxSelectionChars } from './selections';

/** The clipboard is read at most this often. */
export const clipboardReadMs = 500;

export function watchClipboard(privacy: ContextPrivacy, enabled: () => boolean, offer: (chunk: ContextChunk) => void): vscode.Disposable {
  if (vscode.env.uiKind !== vscode.UIKind.Desktop) return new vscode.Disposable(() => undefined);
  const selections = new RecentSelections();
  /** Editors whose last selection was non-empty. */
  const selecting = new WeakSet<vscode.TextEditor>();
  let lastClipboard = '';
  let timer: ReturnType<typeof setTimeout> | null = null;

  const read = async (): Promise<void> => {
    timer = null;
    const text = await vscode.env.clipboard.readText().then(
      (t) => t,
      () => '',
    );
    if (text === lastClipboard) return;
    lastClipboard = text;
    const source = selections.match(text);
    if (!source) return;
    const chunk = clipboardChunk(source.path, text);
    if (chunk) offer(chunk);
  };

  const soon = (): void => {
    // Nothing is read, not even locally, while context is off.
    if (timer === null && enabled()) timer = setTimeout(() => void read(), clipboardReadMs);
  };

  const subscriptions = [
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const editor = e.textEditor;
      const uri = editor.document.uri;
      const nonEmpty = e.selections.filter((s) => !s.isEmpty);
      if (nonEmpty.length > 0 && enabled() && privacy.allows(uri)) {
        const path = privacy.chunkPath(uri);
        // Multiple cursors copy their selections joined by line breaks.
        const text = nonEmpty.map((s) => editor.document.getText(s)).join('\n');
        if (text.length <= maxSelectionChars) selections.note(text, path);
        selecting.add(editor);
        return;
      }
      if (selecting.has(editor)) {
        selecting.delete(editor);
        soon();
      }
    }),
    vscode.window.onDidChangeActiveTextEditor(() => soon()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('localLlm.context') || e.affectsConfiguration('files.exclude')) selections.clear();
    }),
  ];
  return new vscode.Disposable(() => {
    if (timer !== null) clearTimeout(timer);
    for (const s of subscriptions) s.dispose();
  });
}
