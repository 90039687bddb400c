// `localLlm.chat.keepHistory`: whether chats are kept. Only the client reads it (the server keeps
// no chats), so it is not among the shared settings that both sides normalize.
import * as vscode from 'vscode';

export const keepHistoryKey = 'chat.keepHistory';

/** Settings of package.json that server/src/shared/settings.ts does not list, because only the client reads them. */
export const clientOnlySettings: readonly string[] = [keepHistoryKey];

export function keepsHistory(): boolean {
  const value = vscode.workspace.getConfiguration('localLlm').get<unknown>(keepHistoryKey, true);
  // Anything but an explicit false keeps them, as the default does.
  return value !== false;
}
