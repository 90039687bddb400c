// "Local LLM: Edit Selection…": one chat turn in a session of its own (rewriteTurn.ts), with the
// selection as a part and an instruction to answer with only the rewritten code; the answer
// streams under a cancellable progress notification, and its code becomes a diff to Accept or Reject.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatPart } from '../../../server/src/shared/protocol';
import type { ChatBackend } from '../chat/session';
import { codeOfAnswer } from './codeBlock';
import { reindent } from './fragment';
import type { EditProposals, ProposalReport } from './proposals';
import { runRewriteTurn } from './rewriteTurn';

export interface EditSelectionDeps {
  backend: ChatBackend;
  proposals: EditProposals;
  /** Null when the file may go to the model; else the sentence that says why not. */
  refusal: (uri: vscode.Uri) => string | null;
}

/** What the model is told besides the user's instruction. */
export const rewriteRule =
  'Rewrite the selected code as the instruction says. Answer with only the rewritten code, in one fenced code block, with no explanation.';

/** The selection's first line's indentation, when the selection starts at the line's start. */
function selectionIndent(document: vscode.TextDocument, selection: vscode.Selection): string | null {
  if (selection.start.character !== 0) return null;
  return /^[ \t]*/.exec(document.lineAt(selection.start.line).text)?.[0] ?? '';
}

/** Runs the flow; resolves with the diff shown, or null when the user dismissed the input or cancelled. */
export async function editSelection(
  deps: EditSelectionDeps,
  given?: { instruction?: string; editor?: vscode.TextEditor },
): Promise<ProposalReport | null> {
  const editor = given?.editor ?? vscode.window.activeTextEditor;
  if (!editor) throw new Error('Open a file and select the code to edit first.');
  const { document, selection } = editor;
  if (selection.isEmpty) throw new Error('Select the code to edit first.');
  const refused = deps.refusal(document.uri);
  if (refused) throw new Error(refused);
  const instruction =
    given?.instruction ??
    (await vscode.window.showInputBox({
      title: 'Local LLM: Edit Selection',
      prompt: 'How should the selected code change? The result is shown as a diff to accept or reject.',
      placeHolder: 'e.g. handle the empty list; use async/await',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Say how the code should change.' : null),
    }));
  if (instruction === undefined || instruction.trim() === '') return null;

  const name = path.basename(document.uri.path);
  const selected = document.getText(selection);
  const range = new vscode.Range(selection.start, selection.end);
  const version = document.version;
  const part: ChatPart = {
    kind: 'selection',
    label: `${vscode.workspace.asRelativePath(document.uri)}#L${range.start.line + 1}-${range.end.line + 1}`,
    source: { uri: document.uri.toString(), startLine: range.start.line, endLine: range.end.line },
    text: selected,
  };
  const result = await runRewriteTurn(deps.backend, {
    title: `Local LLM: editing the selection in ${name}`,
    message: `${instruction.trim()}\n\n${rewriteRule}`,
    parts: [part],
    purpose: 'edit',
  });
  if (!result) {
    vscode.window.setStatusBarMessage('Local LLM: Edit Selection cancelled; nothing changed.', 4000);
    return null;
  }
  const code = codeOfAnswer(result.text);
  if (code === null) throw new Error('The model answered with no code, so there is nothing to review.');
  if (document.version !== version) throw new Error(`${name} changed while the model was writing; run Edit Selection again.`);

  const lines = code.split('\n');
  const indent = selectionIndent(document, selection);
  const fitted = indent === null ? lines : reindent(lines, /^[ \t]*/.exec(lines[0])?.[0] ?? '', indent);
  const replacement = fitted.join('\n') + (selected.endsWith('\n') ? '\n' : '');
  return deps.proposals.propose({ document, range, replacement, source: 'Edit Selection' });
}
