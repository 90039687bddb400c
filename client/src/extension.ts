// Activation: build the Ctx with the command table, start the server, hand back the API.
// Deactivation: stop the server within a bounded time (Ctx kills it if it does not go).
import type * as vscode from 'vscode';
import type { LocalLlmApi } from './api';
import { createCommands } from './commands/table';
import { Ctx } from './ctx';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): LocalLlmApi {
  ctx = new Ctx(context, createCommands());
  // Not awaited: activation must not wait for the server; the status item shows its progress.
  void ctx.start();
  return ctx.api();
}

export async function deactivate(): Promise<void> {
  const current = ctx;
  ctx = undefined;
  await current?.dispose();
}
