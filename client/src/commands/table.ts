// The one table of commands: for each id its palette title, when it is offered, and its handlers.
// `enabled` runs while the server is up; `disabled` (or a uniform message) otherwise. extension.ts
// hands the table to the Ctx, which registers it; package.json mirrors the titles and when clauses
// (test/unit/contribution.test.ts checks it).
import * as vscode from 'vscode';
import { writeSetting } from '../config';
import { reviewingContextKey } from '../edits/proposals';
import { stateContextKey } from '../status/render';
import { showMenu } from './menu';
import { currentModels, selectModel } from './selectModel';
import type { Command, CommandCtx, CommandHandler, CommandTable } from './types';

export const commandCategory = 'Local LLM';

/** For commands that work the same with or without a server. */
function always(command: { title: string; when?: string; make: (ctx: CommandCtx) => CommandHandler }): Command {
  const { make, ...info } = command;
  return { ...info, enabled: ({ ctx }) => make(ctx), disabled: make };
}

async function setApiKey(ctx: CommandCtx): Promise<void> {
  const key = await vscode.window.showInputBox({
    title: 'Local LLM: model server API key',
    prompt: 'Sent as a bearer token to the server in localLlm.engine; kept in secret storage. Leave empty to remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  await ctx.setApiKey(key);
  vscode.window.setStatusBarMessage(`Local LLM: server API key ${key.trim() ? 'set' : 'removed'}`, 3000);
}

async function toggleCompletions(ctx: CommandCtx): Promise<void> {
  const enabled = !ctx.settings.completion.enabled;
  await writeSetting('completion.enabled', enabled);
  vscode.window.setStatusBarMessage(`Local LLM: inline completions ${enabled ? 'on' : 'off'}`, 3000);
}

export function createCommands(): CommandTable {
  return {
    'localLlm.sleepNow': {
      title: 'Sleep Now',
      when: `${stateContextKey} == ready`,
      enabled:
        ({ ctx }) =>
        async () => {
          await ctx.sleep();
        },
    },
    'localLlm.wake': {
      title: 'Wake Up',
      when: `${stateContextKey} == sleeping || ${stateContextKey} == error`,
      enabled:
        ({ ctx }) =>
        async () => {
          const status = await ctx.wake();
          if (status.state === 'error' && status.error) void vscode.window.showErrorMessage(`Local LLM: ${status.error}`);
        },
    },
    'localLlm.openChat': always({ title: 'Open Chat', make: () => () => vscode.commands.executeCommand('localLlm.chatView.focus') }),
    'localLlm.toggleCompletions': always({ title: 'Toggle Inline Completions', make: (ctx) => () => toggleCompletions(ctx) }),
    'localLlm.selectModel': {
      title: 'Select Model',
      enabled:
        ({ ctx, client }) =>
        (request?: unknown) =>
          selectModel(client, currentModels(ctx.settings.model), request),
      disabled: (ctx) => (request?: unknown) => selectModel(undefined, currentModels(ctx.settings.model), request),
    },
    'localLlm.showLastCompletionPrompt': {
      title: 'Show Last Completion Prompt',
      enabled:
        ({ ctx, client }) =>
        () =>
          ctx.promptView.show(client),
    },
    'localLlm.showLastChatPrompt': {
      title: 'Show Last Chat Prompt',
      enabled:
        ({ ctx, client }) =>
        () =>
          ctx.chatPromptView.show(client),
    },
    'localLlm.editSelection': {
      title: 'Edit Selection…',
      // A string argument is the instruction (from a keybinding's args or another extension).
      enabled:
        ({ ctx }) =>
        (instruction?: unknown) =>
          ctx.editSelection(typeof instruction === 'string' ? instruction : undefined),
    },
    'localLlm.acceptEdit': always({
      title: 'Accept Proposed Change',
      when: reviewingContextKey,
      make: (ctx) => () => ctx.proposals.accept(),
    }),
    'localLlm.rejectEdit': always({
      title: 'Reject Proposed Change',
      when: reviewingContextKey,
      make: (ctx) => () => ctx.proposals.reject(),
    }),
    'localLlm.showLogs': always({ title: 'Show Logs', make: (ctx) => () => ctx.log.show() }),
    'localLlm.setApiKey': always({ title: 'Set Server API Key', make: (ctx) => () => setApiKey(ctx) }),
    'localLlm.restartServer': always({
      title: 'Restart Server',
      when: `${stateContextKey} != starting`,
      make: (ctx) => () => ctx.restart(),
    }),
    // Opened by clicking the status bar item; not useful from the palette.
    'localLlm.showMenu': always({ title: 'Show Status Menu', when: 'false', make: (ctx) => () => showMenu(ctx) }),
  };
}
