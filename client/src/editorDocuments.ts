// Which documents count as the user's code: files on disk and untitled buffers. Output panels,
// logs, settings, git views and the like never produce activity, completions or chat context.
import type * as vscode from 'vscode';

export const codeSchemes = ['file', 'untitled'] as const;

export function isCodeDocument(document: vscode.TextDocument): boolean {
  return (codeSchemes as readonly string[]).includes(document.uri.scheme);
}
