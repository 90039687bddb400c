// Every command's handler, in one table keyed by the ids of commandList.ts. `enabled` runs
// while the server is up; `disabled` (or a uniform message) otherwise.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { CommandId } from './commandList';
import { selectModel } from './commands/selectModel';
import { readSettings, writeSetting } from './config';
import type { Ctx } from './ctx';
import { contextState } from './statusBar';

/** A Ctx whose client is known to be running. */
export interface CtxInit {
  ctx: Ctx;
  client: LanguageClient;
}

type Cmd = (...args: unknown[]) => unknown;

export interface CommandFactory {
  enabled: (init: CtxInit) => Cmd;
  disabled?: (ctx: Ctx) => Cmd;
}

/** For commands that work the same with or without a server. */
function always(make: (ctx: Ctx) => Cmd): CommandFactory {
  return { enabled: ({ ctx }) => make(ctx), disabled: make };
}

async function toggleCompletions(): Promise<void> {
  const enabled = !readSettings().completion.enabled;
  await writeSetting('completion.enabled', enabled);
  vscode.window.setStatusBarMessage(`Local LLM: inline completions ${enabled ? 'on' : 'off'}`, 3000);
}

interface MenuItem extends vscode.QuickPickItem {
  command: CommandId;
}

async function showMenu(ctx: Ctx): Promise<void> {
  const state = contextState(ctx.clientState, ctx.status);
  const completionsOn = readSettings().completion.enabled;
  const items: MenuItem[] = [];
  if (state === 'ready') items.push({ label: '$(debug-pause) Sleep Now', detail: 'Unload the model now and give its memory back.', command: 'localLlm.sleepNow' });
  if (state === 'sleeping' || state === 'error') items.push({ label: '$(debug-start) Wake Up', command: 'localLlm.wake' });
  if (state === 'stopped' || state === 'crashed') items.push({ label: '$(debug-restart) Restart Server', command: 'localLlm.restartServer' });
  items.push(
    { label: '$(comment-discussion) Open Chat', command: 'localLlm.openChat' },
    { label: `$(${completionsOn ? 'eye-closed' : 'eye'}) Toggle Completions`, description: completionsOn ? 'on' : 'off', command: 'localLlm.toggleCompletions' },
    { label: '$(file-binary) Select Model', description: ctx.status?.model?.name, command: 'localLlm.selectModel' },
    { label: '$(output) Show Logs', command: 'localLlm.showLogs' },
  );
  const picked = await vscode.window.showQuickPick(items, { title: 'Local LLM' });
  if (picked) await vscode.commands.executeCommand(picked.command);
}

export function createCommands(): Record<CommandId, CommandFactory> {
  return {
    'localLlm.sleepNow': {
      enabled: ({ ctx }) => async () => {
        await ctx.sleep();
      },
    },
    'localLlm.wake': {
      enabled: ({ ctx }) => async () => {
        const status = await ctx.wake();
        if (status.state === 'error' && status.error) void vscode.window.showErrorMessage(`Local LLM: ${status.error}`);
      },
    },
    'localLlm.openChat': always(() => () => vscode.commands.executeCommand('localLlm.chatView.focus')),
    'localLlm.toggleCompletions': always(() => toggleCompletions),
    'localLlm.selectModel': {
      enabled: ({ client }) => () => selectModel(client),
      disabled: () => () => selectModel(undefined),
    },
    'localLlm.showLogs': always((ctx) => () => ctx.log.show()),
    'localLlm.restartServer': always((ctx) => () => ctx.restart()),
    'localLlm.showMenu': always((ctx) => () => showMenu(ctx)),
  };
}
