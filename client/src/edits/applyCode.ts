// Apply on a code block of an answer: find the file it is for (the path it names, else the file
// the question was about), read that file as it is now (the live document, so a change on disk
// since the answer counts), place the block by fragment matching, and show the change as a diff.
// A block that matches no region (or several) is merged by the model (mergeFragment.ts) or shown
// as a replacement of the whole file, as the user chooses.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { blockTarget } from './codeBlock';
import { planFragment } from './fragment';
import { mergeWithModel, wholeRange, type MergeDeps } from './mergeFragment';
import type { EditProposals, ProposalReport } from './proposals';

export interface ApplyRequest {
  code: string;
  /** The fence's info string (language, maybe a path). */
  info: string;
  /** The file the question was about, when there was one. */
  about?: vscode.Uri;
  /**
   * When the block matches no region (or several): true shows the whole-file replacement at
   * once, false refuses; absent asks the user.
   */
  wholeFileIfUnmatched?: boolean;
  /** When the block matches no region (or several): true merges it with the model at once (before wholeFileIfUnmatched). */
  mergeIfUnmatched?: boolean;
}

const reviewWholeFile = 'Review as Whole File';
const mergeWithTheModel = 'Merge with the Model';

/** A path the block names, as a file of the workspace. */
async function resolvePath(written: string, about: vscode.Uri | undefined): Promise<vscode.Uri> {
  const clean = written.replace(/\\/g, '/').replace(/^\.\//, '');
  if (path.isAbsolute(clean)) return vscode.Uri.file(clean);
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const candidate = vscode.Uri.joinPath(folder.uri, clean);
    const exists = await vscode.workspace.fs.stat(candidate).then(
      () => true,
      () => false,
    );
    if (exists) return candidate;
  }
  // Models often drop leading folders: `math.ts` for `src/math.ts`.
  if (about && (about.path.endsWith(`/${clean}`) || path.posix.basename(about.path) === clean)) return about;
  const found = await vscode.workspace.findFiles(`**/${clean}`, undefined, 2);
  if (found.length === 1) return found[0];
  if (found.length > 1)
    throw new Error(`Several files of the workspace end in ${clean}; name the file with its folder, or apply from that file.`);
  throw new Error(`There is no ${clean} in the workspace to apply this code to.`);
}

/**
 * The diff of the block against its file; null when the user declined a whole-file replacement or
 * cancelled a merge. Without `merge` (no model to ask), an unmatched block can only be reviewed whole.
 */
export async function applyCode(request: ApplyRequest, proposals: EditProposals, merge?: MergeDeps): Promise<ProposalReport | null> {
  const { path: written, code } = blockTarget(request.info, request.code);
  if (code.trim() === '') throw new Error('The code block is empty, so there is nothing to apply.');
  let uri: vscode.Uri;
  if (written) uri = await resolvePath(written, request.about);
  else if (request.about) uri = request.about;
  else {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (!active || active.scheme !== 'file') {
      throw new Error('The code block names no file and the question was about none; open the file it is for and apply again.');
    }
    uri = active;
  }
  const document = await vscode.workspace.openTextDocument(uri);
  const name = path.basename(uri.path);
  const plan = planFragment(document.getText(), code);
  if (plan.kind === 'region') {
    const range = new vscode.Range(new vscode.Position(plan.startLine, 0), document.lineAt(plan.endLine).range.end);
    return proposals.propose({ document, range, replacement: plan.replacement, source: 'Apply' });
  }

  const why =
    plan.kind === 'none'
      ? `The code matches no region of ${name} by its signature or its first and last lines.`
      : `The code matches ${plan.startLines.length} regions of ${name} (lines ${plan.startLines.map((l) => l + 1).join(', ')}), so which one it replaces is not clear.`;
  if (request.mergeIfUnmatched) {
    if (!merge) throw new Error(`${why} Merging it needs the model, which is not available here.`);
    return mergeWithModel(merge, proposals, document, code);
  }
  let whole = request.wholeFileIfUnmatched;
  if (whole === undefined) {
    const choice = merge
      ? await vscode.window.showWarningMessage(
          `${why} Merge it into the file with the model, or review it as a replacement of the whole file?`,
          mergeWithTheModel,
          reviewWholeFile,
        )
      : await vscode.window.showWarningMessage(`${why} Review it as a replacement of the whole file?`, reviewWholeFile);
    if (choice === mergeWithTheModel && merge) return mergeWithModel(merge, proposals, document, code);
    whole = choice === reviewWholeFile;
  } else if (!whole) throw new Error(why);
  if (!whole) return null;
  const keepsFinalBreak = document.getText().endsWith('\n') && !code.endsWith('\n');
  return proposals.propose({
    document,
    range: wholeRange(document),
    replacement: keepsFinalBreak ? `${code}\n` : code,
    source: 'Apply',
    wholeFile: true,
  });
}
