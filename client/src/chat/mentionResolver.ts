// Turns the mentions of a message (chips, and mentions written out in its text) into the parts the
// server puts into the prompt. What only the editor knows is read here: files through their live
// documents (so unsaved edits count), the selection, symbols, diagnostics, the git diff. A file
// the user keeps out of the context is refused with a sentence, and then nothing is sent.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MentionRef } from '../../../media/messages';
import { splitLineRange, type TypedMention } from '../../../media/mentions';
import type { ChatPart } from '../../../server/src/shared/protocol';
import type { ContextPrivacy } from '../context/privacy';
import { filterDiff } from './diffFilter';
import { workingTreeDiff } from './gitChanges';
import { problemsText, type Problem } from './problemsText';

/** The server bounds parts to its context; this keeps a huge file off the IPC channel. */
const maxPartChars = 100_000;

export interface ResolvedMentions {
  parts: ChatPart[];
  /** `@codebase`: the server retrieves from its index. */
  codebase: boolean;
  /** The labels of what was mentioned, for the user's turn. */
  labels: string[];
}

const severities: Record<vscode.DiagnosticSeverity, Problem['severity']> = {
  [vscode.DiagnosticSeverity.Error]: 'error',
  [vscode.DiagnosticSeverity.Warning]: 'warning',
  [vscode.DiagnosticSeverity.Information]: 'info',
  [vscode.DiagnosticSeverity.Hint]: 'hint',
};

function bounded(text: string): string {
  return text.length > maxPartChars ? text.slice(0, maxPartChars) : text;
}

export class MentionResolver {
  constructor(
    private readonly privacy: ContextPrivacy,
    /** The editor the chat panel talks about (the last focused code editor). */
    private readonly editor: () => vscode.TextEditor | undefined,
  ) {}

  private relative(uri: vscode.Uri): string {
    return vscode.workspace.asRelativePath(uri);
  }

  private checkAllowed(uri: vscode.Uri): void {
    if (uri.scheme === 'file' && !this.privacy.allows(uri)) {
      throw new Error(`${this.relative(uri)} is excluded by localLlm.context.exclude or files.exclude, so it is not sent to the model.`);
    }
  }

  async resolve(refs: readonly MentionRef[], typed: readonly TypedMention[]): Promise<ResolvedMentions> {
    const all = [...refs, ...(await Promise.all(typed.map((t) => this.refOf(t))))];
    const parts: ChatPart[] = [];
    const labels: string[] = [];
    let codebase = false;
    const seen = new Set<string>();
    for (const ref of all) {
      const key = JSON.stringify([ref.kind, ref.uri, ref.startLine, ref.endLine, ref.kind === 'symbol' ? ref.label : '']);
      if (seen.has(key)) continue;
      seen.add(key);
      labels.push(ref.label);
      if (ref.kind === 'codebase') codebase = true;
      else parts.push(await this.part(ref));
    }
    return { parts, codebase, labels };
  }

  /** A mention written in the text, as the chip the picker would have made. */
  private async refOf(typed: TypedMention): Promise<MentionRef> {
    switch (typed.kind) {
      case 'file': {
        if (!typed.target) throw new Error('@file needs a file: write @file:src/name.ts, or pick one after typing @file.');
        const { path: written, range, problem } = splitLineRange(typed.target);
        if (problem) throw new Error(problem);
        const uri = await this.findFile(written);
        return {
          kind: 'file',
          label: typed.target,
          uri: uri.toString(),
          ...(range ? { startLine: range.start - 1, endLine: range.end - 1 } : {}),
        };
      }
      case 'symbol': {
        if (!typed.target) throw new Error('@symbol needs a name: write @symbol:parseConfig, or pick one after typing @symbol.');
        const name = typed.target;
        const symbols =
          (await vscode.commands.executeCommand<vscode.SymbolInformation[] | undefined>('vscode.executeWorkspaceSymbolProvider', name)) ??
          [];
        const exact = symbols.filter((s) => s.name === name);
        const symbol = exact[0] ?? symbols[0];
        if (!symbol) throw new Error(`No symbol named ${name} was found in the workspace.`);
        const range = symbol.location.range;
        return {
          kind: 'symbol',
          label: symbol.name,
          uri: symbol.location.uri.toString(),
          startLine: range.start.line,
          endLine: range.end.line,
        };
      }
      case 'problems': {
        if (!typed.target) return { kind: 'problems', label: 'problems in the workspace' };
        const uri = await this.findFile(typed.target);
        return { kind: 'problems', label: `problems in ${path.posix.basename(uri.path)}`, uri: uri.toString() };
      }
      default:
        return { kind: typed.kind, label: typed.kind === 'selection' ? 'selection' : typed.kind };
    }
  }

  private async findFile(written: string): Promise<vscode.Uri> {
    const clean = written.replace(/\\/g, '/').replace(/^\.\//, '');
    if (path.isAbsolute(clean)) return vscode.Uri.file(clean);
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const uri = vscode.Uri.joinPath(folder.uri, clean);
      if (
        await vscode.workspace.fs.stat(uri).then(
          () => true,
          () => false,
        )
      )
        return uri;
    }
    const found = await vscode.workspace.findFiles(`**/${clean}`, undefined, 2);
    if (found.length === 1) return found[0];
    if (found.length > 1) throw new Error(`Several files of the workspace end in ${clean}; name it with its folder.`);
    throw new Error(`There is no file ${clean} in the workspace.`);
  }

  private async part(ref: MentionRef): Promise<ChatPart> {
    switch (ref.kind) {
      case 'file':
      case 'symbol':
        return this.filePart(ref);
      case 'selection':
        return this.selectionPart();
      case 'problems':
        return this.problemsPart(ref);
      case 'changes':
        return this.changesPart();
      case 'codebase':
        throw new Error('@codebase is the server’s to resolve.');
    }
  }

  private async filePart(ref: MentionRef): Promise<ChatPart> {
    if (!ref.uri) throw new Error(`The mention ${ref.label} names no file.`);
    const uri = vscode.Uri.parse(ref.uri);
    this.checkAllowed(uri);
    let document: vscode.TextDocument;
    try {
      document = await vscode.workspace.openTextDocument(uri);
    } catch {
      throw new Error(`${this.relative(uri)} cannot be read as text, so it is not sent.`);
    }
    const rel = this.relative(uri);
    if (ref.startLine === undefined) {
      return {
        kind: ref.kind,
        label: ref.kind === 'symbol' ? ref.label : rel,
        source: { uri: ref.uri },
        text: bounded(document.getText()),
      };
    }
    const last = document.lineCount - 1;
    if (ref.startLine > last) {
      throw new Error(`${rel} has ${document.lineCount} lines, so line ${ref.startLine + 1} is not in it.`);
    }
    const endLine = Math.min(ref.endLine ?? ref.startLine, last);
    const range = new vscode.Range(ref.startLine, 0, endLine, document.lineAt(endLine).text.length);
    const label = ref.kind === 'symbol' ? `${ref.label} in ${rel}` : `${rel}#L${ref.startLine + 1}-${endLine + 1}`;
    return { kind: ref.kind, label, source: { uri: ref.uri, startLine: ref.startLine, endLine }, text: bounded(document.getText(range)) };
  }

  private selectionPart(): ChatPart {
    const editor = this.editor();
    if (!editor || editor.selection.isEmpty) throw new Error('Select some code in an editor first: @selection has nothing to send.');
    const { document, selection } = editor;
    this.checkAllowed(document.uri);
    const name = document.uri.scheme === 'file' ? this.relative(document.uri) : path.posix.basename(document.uri.path);
    return {
      kind: 'selection',
      label: `selection in ${name}#L${selection.start.line + 1}-${selection.end.line + 1}`,
      source: { uri: document.uri.toString(), startLine: selection.start.line, endLine: selection.end.line },
      text: bounded(document.getText(selection)),
    };
  }

  private problemsPart(ref: MentionRef): ChatPart {
    const entries: Array<[vscode.Uri, readonly vscode.Diagnostic[]]> = ref.uri
      ? [[vscode.Uri.parse(ref.uri), vscode.languages.getDiagnostics(vscode.Uri.parse(ref.uri))]]
      : vscode.languages.getDiagnostics();
    if (ref.uri) this.checkAllowed(vscode.Uri.parse(ref.uri));
    const problems: Problem[] = [];
    for (const [uri, diagnostics] of entries) {
      // The workspace's problems leave out the files that never enter the context.
      if (uri.scheme !== 'file' || !this.privacy.allows(uri)) continue;
      for (const d of diagnostics) {
        problems.push({
          path: this.relative(uri),
          line: d.range.start.line,
          severity: severities[d.severity],
          message: d.message,
          ...(d.source ? { source: d.source } : {}),
        });
      }
    }
    return { kind: 'problems', label: ref.label, ...(ref.uri ? { source: { uri: ref.uri } } : {}), text: problemsText(problems) };
  }

  private async changesPart(): Promise<ChatPart> {
    const result = await workingTreeDiff();
    if (typeof result === 'string') throw new Error(result);
    const texts: string[] = [];
    const left: string[] = [];
    for (const repo of result) {
      const filtered = filterDiff(repo.diff, (rel) => this.privacy.allows(vscode.Uri.joinPath(repo.root, rel)));
      if (filtered.text.trim() !== '') texts.push(filtered.text);
      left.push(...filtered.left);
    }
    const note = left.length ? `\n(Changes to ${left.join(', ')} are left out: those files are excluded from the context.)\n` : '';
    const body = texts.length === 0 ? 'There are no uncommitted changes.' : texts.join('');
    return { kind: 'changes', label: 'uncommitted changes', text: bounded(body + note) };
  }
}
