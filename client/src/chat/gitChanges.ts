// The working tree's uncommitted changes from VS Code's own git extension (its API, version 1):
// what is staged and what is not, for every repository of the workspace. Only the types used here
// are declared; the extension is optional (absent in some editors, off in some workspaces).
import * as vscode from 'vscode';

interface GitRepository {
  readonly rootUri: vscode.Uri;
  diff(cached?: boolean): Promise<string>;
}

interface GitApi {
  readonly repositories: GitRepository[];
}

interface GitExtension {
  readonly enabled: boolean;
  getAPI(version: 1): GitApi;
}

export interface RepositoryDiff {
  root: vscode.Uri;
  /** The unified diff, staged changes first; paths are relative to `root`. */
  diff: string;
}

/** The diff, or a sentence that says why there is none. */
export async function workingTreeDiff(): Promise<RepositoryDiff[] | string> {
  const extension = vscode.extensions.getExtension<GitExtension>('vscode.git');
  if (!extension) return "VS Code's git extension is not available here, so @changes has nothing to send.";
  const git = extension.isActive ? extension.exports : await extension.activate();
  if (!git?.enabled) return "VS Code's git extension is turned off (git.enabled), so @changes has nothing to send.";
  const repositories = git.getAPI(1).repositories;
  if (repositories.length === 0) return 'No git repository is open in this workspace, so @changes has nothing to send.';
  const diffs: RepositoryDiff[] = [];
  for (const repo of repositories) {
    const staged = await repo.diff(true);
    const unstaged = await repo.diff(false);
    const diff = [staged, unstaged]
      .filter((d) => d.trim() !== '')
      .map((d) => d.replace(/\n?$/, '\n'))
      .join('');
    diffs.push({ root: repo.rootUri, diff });
  }
  return diffs;
}
