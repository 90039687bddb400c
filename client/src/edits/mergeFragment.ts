// "Merge with the model": Apply on a code block that matches no region of its file (or several)
// asks the model, in one turn of its own (rewriteTurn.ts, as Edit Selection does), to merge the
// block into the file, which goes along as a mention; the merged file is shown as a whole-file
// diff to Accept or Reject, like any other proposal. Nothing is written without Accept.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatPart } from '../../../server/src/shared/protocol';
import type { ChatBackend } from '../chat/session';
import { fileNotSeen, mergedFile, mergeQuestion } from './mergePrompt';
import type { EditProposals, ProposalReport } from './proposals';
import { runRewriteTurn } from './rewriteTurn';

export interface MergeDeps {
  backend: ChatBackend;
  /** Null when the file may go to the model; else the sentence that says why not. */
  refusal: (uri: vscode.Uri) => string | null;
}

/** The title of the proposal's diff. */
export const mergeSource = 'Merge with the model';

export function wholeRange(document: vscode.TextDocument): vscode.Range {
  return new vscode.Range(new vscode.Position(0, 0), document.lineAt(document.lineCount - 1).range.end);
}

/** Runs the merge; resolves with the diff shown, or null when the user cancelled. */
export async function mergeWithModel(
  deps: MergeDeps,
  proposals: EditProposals,
  document: vscode.TextDocument,
  fragment: string,
): Promise<ProposalReport | null> {
  const refused = deps.refusal(document.uri);
  if (refused) throw new Error(refused);
  const name = path.basename(document.uri.path);
  const label = vscode.workspace.asRelativePath(document.uri);
  const original = document.getText();
  const version = document.version;
  const part: ChatPart = { kind: 'file', label, source: { uri: document.uri.toString() }, text: original };
  const result = await runRewriteTurn(deps.backend, {
    title: `Local LLM: merging the code into ${name}`,
    message: mergeQuestion(label, document.languageId, fragment),
    parts: [part],
    purpose: 'merge',
  });
  if (!result) {
    vscode.window.setStatusBarMessage('Local LLM: Merge with the model cancelled; nothing changed.', 4000);
    return null;
  }
  const notSeen = fileNotSeen(result.included, label);
  if (notSeen) throw new Error(notSeen);
  const merged = mergedFile(result.text, result.stopReason, original, name);
  if ('error' in merged) throw new Error(merged.error);
  if (document.version !== version) throw new Error(`${name} changed while the model was merging; apply the code again.`);
  const report = await proposals.propose({
    document,
    range: wholeRange(document),
    replacement: merged.text,
    source: mergeSource,
    wholeFile: true,
  });
  if (merged.cutShort) {
    void vscode.window.showWarningMessage(
      `Local LLM: the model's answer reached its length limit, so the end of the merged ${name} may be missing; check the end of the diff before you accept it.`,
    );
  }
  return report;
}
