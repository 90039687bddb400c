// The mention picker's second list: workspace files (files.exclude and localLlm.context.exclude
// applied), workspace symbols from the languages' own providers, and the two scopes of @problems.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fuzzyFilter } from '../../../media/fuzzy';
import type { MentionCandidate, MentionQueryKind } from '../../../media/messages';
import { formatLineRange, splitLineRange } from '../../../media/mentions';
import type { ContextPrivacy } from '../context/privacy';

const maxFiles = 20_000;
const fileListTtlMs = 10_000;
const shown = 30;

export class MentionCandidates {
  private files: { at: number; list: Promise<vscode.Uri[]> } | null = null;

  constructor(
    private readonly privacy: ContextPrivacy,
    /** The file the chat panel would talk about now. */
    private readonly currentFile: () => vscode.Uri | undefined,
  ) {}

  /** Workspace files, allowed ones only; re-listed at most every few seconds while the picker is used. */
  private workspaceFiles(): Promise<vscode.Uri[]> {
    const cached = this.files;
    if (cached && Date.now() - cached.at <= fileListTtlMs) return cached.list;
    // `undefined` as the exclude applies files.exclude, as the explorer does.
    const list = Promise.resolve(vscode.workspace.findFiles('**/*', undefined, maxFiles)).then((uris) =>
      uris.filter((u) => this.privacy.allows(u)),
    );
    this.files = { at: Date.now(), list };
    return list;
  }

  async list(kind: MentionQueryKind, query: string): Promise<MentionCandidate[]> {
    switch (kind) {
      case 'file':
        return this.fileCandidates(query);
      case 'symbol':
        return this.symbolCandidates(query);
      case 'problems':
        return this.problemCandidates(query);
    }
  }

  private async fileCandidates(query: string): Promise<MentionCandidate[]> {
    const { path: wanted, range } = splitLineRange(query);
    const files = await this.workspaceFiles();
    const named = files.map((uri) => ({ uri, rel: vscode.workspace.asRelativePath(uri) }));
    return fuzzyFilter(wanted, named, (f) => f.rel, shown).map(({ uri, rel }) => ({
      ref: {
        kind: 'file',
        label: `${path.posix.basename(rel)}${formatLineRange(range)}`,
        uri: uri.toString(),
        ...(range ? { startLine: range.start - 1, endLine: range.end - 1 } : {}),
      },
      detail: rel,
    }));
  }

  private async symbolCandidates(query: string): Promise<MentionCandidate[]> {
    if (query.trim() === '') return [];
    const symbols =
      (await vscode.commands.executeCommand<vscode.SymbolInformation[] | undefined>('vscode.executeWorkspaceSymbolProvider', query)) ?? [];
    const allowed = symbols.filter((s) => this.privacy.allows(s.location.uri));
    return fuzzyFilter(query, allowed, (s) => s.name, shown).map((s) => ({
      ref: {
        kind: 'symbol',
        label: s.name,
        uri: s.location.uri.toString(),
        startLine: s.location.range.start.line,
        endLine: s.location.range.end.line,
      },
      detail: `${vscode.SymbolKind[s.kind] ?? 'symbol'} in ${vscode.workspace.asRelativePath(s.location.uri)}`,
    }));
  }

  private problemCandidates(query: string): MentionCandidate[] {
    const items: MentionCandidate[] = [];
    const current = this.currentFile();
    if (current) {
      const name = path.posix.basename(current.path);
      items.push({ ref: { kind: 'problems', label: `problems in ${name}`, uri: current.toString() }, detail: 'this file' });
    }
    items.push({ ref: { kind: 'problems', label: 'problems in the workspace' }, detail: 'every open file and project' });
    return fuzzyFilter(query, items, (c) => c.ref.label);
  }
}
