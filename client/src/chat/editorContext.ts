// The editor the chat panel talks about: the last focused code editor, which stays the target
// while the panel itself has focus. Gives the selection (or the whole file) as chat context and
// receives "Insert at cursor".
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttachedContext } from './session';
import { isCodeDocument } from '../editorDocuments';

/** The server bounds context again; this only keeps huge files off the IPC channel. */
const maxContextChars = 64_000;

export class EditorContext implements vscode.Disposable {
  private editor: vscode.TextEditor | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    this.track(vscode.window.activeTextEditor);
    this.subscriptions = [
      this.changed,
      vscode.window.onDidChangeActiveTextEditor((e) => this.track(e)),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === this.editor) this.changed.fire();
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (this.editor?.document === doc) {
          this.editor = undefined;
          this.changed.fire();
        }
      }),
    ];
  }

  private track(editor: vscode.TextEditor | undefined): void {
    if (!editor || !isCodeDocument(editor.document)) return;
    this.editor = editor;
    this.changed.fire();
  }

  /** The editor the panel talks about: the last focused code editor, if it is still open. */
  current(): vscode.TextEditor | undefined {
    return this.editor;
  }

  /** "selection in main.ts (4 lines)", "main.ts", or null with no editor. */
  label(): string | null {
    const editor = this.editor;
    if (!editor) return null;
    const name = path.basename(editor.document.fileName);
    const sel = editor.selection;
    if (sel.isEmpty) return name;
    const lines = sel.end.line - sel.start.line + (sel.end.character > 0 ? 1 : 0);
    return `selection in ${name} (${Math.max(1, lines)} line${lines === 1 ? '' : 's'})`;
  }

  attached(): AttachedContext | null {
    const editor = this.editor;
    const label = this.label();
    if (!editor || !label) return null;
    const doc = editor.document;
    const text = editor.selection.isEmpty ? doc.getText() : doc.getText(editor.selection);
    return {
      uri: doc.uri.toString(),
      label: text.length > maxContextChars ? `${label}, first ${maxContextChars} characters` : label,
      context: {
        fileName: vscode.workspace.asRelativePath(doc.uri),
        languageId: doc.languageId,
        selection: text.slice(0, maxContextChars),
      },
    };
  }

  /** Replaces the selection (or inserts at the cursor) in the tracked editor. */
  async insert(text: string): Promise<void> {
    const last = this.editor;
    if (!last) throw new Error('Open a file to insert the code into.');
    const target = vscode.window.visibleTextEditors.includes(last)
      ? last
      : await vscode.window.showTextDocument(last.document, { viewColumn: last.viewColumn });
    const ok = await target.edit((edit) => {
      for (const selection of target.selections) edit.replace(selection, text);
    });
    if (!ok) throw new Error(`Could not edit ${path.basename(target.document.fileName)}.`);
    await vscode.window.showTextDocument(target.document, { viewColumn: target.viewColumn, selection: target.selection });
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
