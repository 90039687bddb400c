// Which documents may give context, and the path a chunk names them by. Only files on disk: an
// untitled buffer has no name to give and is where people paste tokens to look at them; other
// schemes (git, output, settings, notebooks) are not the user's code. A file must pass
// `localLlm.context.exclude` and the `files.exclude` of its workspace folder (exclude.ts).
import * as vscode from 'vscode';
import { ExcludeMatcher, type FilesExclude } from './exclude';

export class ContextPrivacy implements vscode.Disposable {
  /** One matcher per workspace folder (files.exclude is per folder), '' for files outside any. */
  private readonly matchers = new Map<string, ExcludeMatcher>();
  /** The context.exclude list the matchers were built from; a new list (a settings change) rebuilds them. */
  private builtFrom: readonly string[] | null = null;
  /** Earlier answers by URI, dropped with the matchers. */
  private readonly verdicts = new Map<string, boolean>();
  private readonly subscription = vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('localLlm.context.exclude') || e.affectsConfiguration('files.exclude')) this.forget();
  });
  private readonly folders = vscode.workspace.onDidChangeWorkspaceFolders(() => this.forget());

  constructor(private readonly contextExclude: () => readonly string[]) {}

  /** What the globs see: the path relative to its workspace folder; outside any, the absolute path. */
  private pathOf(uri: vscode.Uri): string {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return uri.path.replace(/^\/+/, '');
    return vscode.workspace.asRelativePath(uri, false).replace(/\\/g, '/');
  }

  /**
   * The path a chunk names (the protocol's rule): workspace-relative, with the folder's name in
   * front when several folders are open; outside a workspace, the file name.
   */
  chunkPath(uri: vscode.Uri): string {
    if (!vscode.workspace.getWorkspaceFolder(uri)) return uri.path.split('/').pop() ?? uri.path;
    return vscode.workspace.asRelativePath(uri).replace(/\\/g, '/');
  }

  allows(uri: vscode.Uri): boolean {
    if (uri.scheme !== 'file') return false;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const matcher = this.matcher(folder);
    // Asked on every selection change; the answer holds until the globs change.
    const key = uri.toString();
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      if (this.verdicts.size >= 1000) this.verdicts.clear();
      verdict = !matcher.excludes(this.pathOf(uri));
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** For a chunk already made: its uri when it has one; clipboard chunks were checked at their source. */
  allowsChunk(uri: string, path: string): boolean {
    if (uri !== '') return this.allows(vscode.Uri.parse(uri));
    return !this.matcher(undefined).excludes(path);
  }

  private matcher(folder: vscode.WorkspaceFolder | undefined): ExcludeMatcher {
    const exclude = this.contextExclude();
    if (exclude !== this.builtFrom) {
      this.forget();
      this.builtFrom = exclude;
    }
    const key = folder?.uri.toString() ?? '';
    let matcher = this.matchers.get(key);
    if (!matcher) {
      const filesExclude = folder ? (vscode.workspace.getConfiguration('files', folder.uri).get<FilesExclude>('exclude') ?? {}) : {};
      matcher = new ExcludeMatcher(exclude, filesExclude);
      this.matchers.set(key, matcher);
    }
    return matcher;
  }

  private forget(): void {
    this.matchers.clear();
    this.verdicts.clear();
  }

  dispose(): void {
    this.subscription.dispose();
    this.folders.dispose();
  }
}
