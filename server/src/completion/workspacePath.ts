// The current file as the context ring's prompt names it: its path relative to the workspace
// folder that holds it (the chunks' paths are relative the same way) and that folder's name.
import * as path from 'node:path';

export interface WorkspaceFolderRef {
  uri: string;
  name: string;
}

/** The repository's name when the file is in no workspace folder. */
export const defaultRepoName = 'workspace';

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `uri`'s workspace-relative path with forward slashes (its file name outside every folder), and the repository name. */
export function workspacePath(uri: string, folders: readonly WorkspaceFolderRef[]): { path: string; repoName: string } {
  // The deepest folder that holds the file wins (nested workspace folders).
  let best: WorkspaceFolderRef | null = null;
  for (const folder of folders) {
    const root = folder.uri.endsWith('/') ? folder.uri : `${folder.uri}/`;
    if (uri.startsWith(root) && (!best || folder.uri.length > best.uri.length)) best = folder;
  }
  if (best) {
    const root = best.uri.endsWith('/') ? best.uri : `${best.uri}/`;
    return { path: decode(uri.slice(root.length)), repoName: best.name };
  }
  const withoutQuery = uri.replace(/[?#].*$/, '');
  return { path: decode(path.posix.basename(withoutQuery)) || 'untitled', repoName: folders[0]?.name ?? defaultRepoName };
}
