// The status menu ("Local LLM: Show Status Menu", opened by clicking the status bar item): the
// actions that fit the model's state, then the ones that always work.
import * as vscode from 'vscode';
import { contextState } from '../status/render';
import type { CommandId } from './ids';
import type { CommandCtx } from './types';

interface MenuItem extends vscode.QuickPickItem {
  command: CommandId;
}

export async function showMenu(ctx: CommandCtx): Promise<void> {
  const state = contextState(ctx.clientState, ctx.status);
  const completionsOn = ctx.settings.completion.enabled;
  const items: MenuItem[] = [];
  if (state === 'ready')
    items.push({
      label: '$(debug-pause) Sleep Now',
      detail: 'Unload the model now and give its memory back.',
      command: 'localLlm.sleepNow',
    });
  if (state === 'sleeping' || state === 'error') items.push({ label: '$(debug-start) Wake Up', command: 'localLlm.wake' });
  if (state === 'stopped' || state === 'crashed')
    items.push({ label: '$(debug-restart) Restart Server', command: 'localLlm.restartServer' });
  items.push(
    { label: '$(comment-discussion) Open Chat', command: 'localLlm.openChat' },
    {
      label: `$(${completionsOn ? 'eye-closed' : 'eye'}) Toggle Completions`,
      description: completionsOn ? 'on' : 'off',
      command: 'localLlm.toggleCompletions',
    },
    {
      label: '$(file-binary) Select Model',
      // With a chat model of its own, both names: completions first.
      description: [ctx.status?.model?.name, ctx.status?.chatModel?.name].filter((n) => n !== undefined).join(' + ') || undefined,
      command: 'localLlm.selectModel',
    },
    { label: '$(output) Show Logs', command: 'localLlm.showLogs' },
  );
  const picked = await vscode.window.showQuickPick(items, { title: 'Local LLM' });
  if (picked) await vscode.commands.executeCommand(picked.command);
}
