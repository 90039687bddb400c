// A proposed change under review: the proposed text is a virtual document of our own scheme,
// shown against the live file in VS Code's diff editor. Accept applies one WorkspaceEdit (one
// undo); Reject drops it. Nothing is written without Accept, and an Accept against a file that
// changed since the diff was made is refused rather than applied to text nobody reviewed.
import * as path from 'node:path';
import * as vscode from 'vscode';

export const proposalScheme = 'local-llm-proposal';
/** True while a proposal waits for Accept or Reject: the editor title buttons and the palette use it. */
export const reviewingContextKey = 'localLlm.reviewingEdit';

/** A proposal as the API reports it. */
export interface ProposalReport {
  /** The file it changes. */
  target: string;
  /** The virtual document shown on the diff's right side. */
  proposal: string;
  /** 0-based lines of the file that it replaces, inclusive. */
  startLine: number;
  endLine: number;
  wholeFile: boolean;
  /** The text that replaces those lines. */
  replacement: string;
}

export interface ProposeOptions {
  document: vscode.TextDocument;
  range: vscode.Range;
  replacement: string;
  /** What proposed it, for the diff's title: "Apply", "Edit Selection". */
  source: string;
  wholeFile?: boolean;
}

interface Proposal {
  report: ProposalReport;
  uri: vscode.Uri;
  target: vscode.Uri;
  range: vscode.Range;
  version: number;
  text: string;
}

export class EditProposals implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private current: Proposal | null = null;
  private serial = 0;
  private readonly contentChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.contentChanged.event;
  private readonly proposalChanged = new vscode.EventEmitter<ProposalReport | null>();
  /** Fires with a proposal when its diff is shown, and with null when it is accepted or rejected. */
  readonly onDidChangeProposal = this.proposalChanged.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(proposalScheme, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    // An old proposal's tab reopened from history shows nothing rather than stale text.
    return this.current && this.current.uri.toString() === uri.toString() ? this.current.text : '';
  }

  get pending(): ProposalReport | null {
    return this.current?.report ?? null;
  }

  /** Shows the diff and waits for nothing: Accept and Reject come from the title bar, the palette or the notification. */
  async propose(options: ProposeOptions): Promise<ProposalReport> {
    if (this.current) await this.reject();
    const { document, range, replacement } = options;
    const full = document.getText();
    const text = full.slice(0, document.offsetAt(range.start)) + replacement + full.slice(document.offsetAt(range.end));
    const id = ++this.serial;
    // The path keeps the file's name, so the right side gets the same language and icon.
    const uri = vscode.Uri.from({ scheme: proposalScheme, path: document.uri.path, query: `proposal=${id}` });
    const report: ProposalReport = {
      target: document.uri.toString(),
      proposal: uri.toString(),
      startLine: range.start.line,
      endLine: range.end.line,
      wholeFile: options.wholeFile ?? false,
      replacement,
    };
    this.current = { report, uri, target: document.uri, range, version: document.version, text };
    this.contentChanged.fire(uri);
    await vscode.commands.executeCommand('setContext', reviewingContextKey, true);
    const name = path.basename(document.uri.path);
    const what = options.wholeFile
      ? 'whole file'
      : range.start.line === range.end.line
        ? `line ${range.start.line + 1}`
        : `lines ${range.start.line + 1}-${range.end.line + 1}`;
    await vscode.commands.executeCommand('vscode.diff', document.uri, uri, `${name} ↔ ${options.source}: ${what} (review)`, {
      preview: false,
    });
    this.proposalChanged.fire(report);
    void this.offer(id, name);
    return report;
  }

  private async offer(id: number, name: string): Promise<void> {
    const choice = await vscode.window.showInformationMessage(`Local LLM: review the proposed change to ${name}.`, 'Accept', 'Reject');
    // The notification may outlive its proposal (accepted from the title bar, or replaced).
    if (this.serial !== id || !this.current) return;
    try {
      if (choice === 'Accept') await this.accept();
      if (choice === 'Reject') await this.reject();
    } catch (err) {
      void vscode.window.showErrorMessage(`Local LLM: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Applies the proposal as one edit and shows the changed file. */
  async accept(): Promise<ProposalReport> {
    const proposal = this.current;
    if (!proposal) throw new Error('There is no proposed change to accept.');
    const document = await vscode.workspace.openTextDocument(proposal.target);
    const name = path.basename(proposal.target.path);
    if (document.version !== proposal.version) {
      await this.drop();
      throw new Error(`${name} changed after the diff was made, so the change was not applied; apply the code again to review it.`);
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(proposal.target, proposal.range, proposal.report.replacement);
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code did not apply the change to ${name}.`);
    await this.drop();
    const end = document.positionAt(document.offsetAt(proposal.range.start) + proposal.report.replacement.length);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(proposal.range.start, end), preview: false });
    return proposal.report;
  }

  /** Drops the proposal; the file is left as it is. */
  async reject(): Promise<void> {
    if (!this.current) return;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const proposal = this.current;
    if (!proposal) return;
    this.current = null;
    await vscode.commands.executeCommand('setContext', reviewingContextKey, false);
    const tabs = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === proposal.uri.toString());
    if (tabs.length) await vscode.window.tabGroups.close(tabs);
    this.contentChanged.fire(proposal.uri);
    this.proposalChanged.fire(null);
  }

  dispose(): void {
    this.current = null;
    this.registration.dispose();
    this.contentChanged.dispose();
    this.proposalChanged.dispose();
  }
}
