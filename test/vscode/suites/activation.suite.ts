import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { escapeMarkdown } from '../../../client/src/status/render';
import { api, delay, extension, waitForClientState, waitForState } from './helpers';

describe('activation', () => {
  it('returns the API', async () => {
    const llm = await api();
    for (const fn of [
      'getStatus',
      'getClientState',
      'getStatusView',
      'getChatView',
      'sleep',
      'wake',
      'chat',
      'newChat',
      'stopChat',
    ] as const) {
      assert.equal(typeof llm[fn], 'function', fn);
    }
  });

  it('starts the language server and loads the model from the settings', async () => {
    const llm = await api();
    await waitForClientState(llm, 'running');
    const status = await waitForState(llm, 'ready');
    const configured = vscode.workspace.getConfiguration('localLlm').get<string>('model');
    assert.ok(configured, 'The harness sets localLlm.model.');
    assert.equal(status.model?.path, configured);
    assert.equal(status.model?.hasFim, true);
    assert.equal(status.error, null);
  });

  it('shows the ready state in the status bar item', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    const view = llm.getStatusView();
    assert.ok(view);
    assert.ok(view.key === 'ready' || view.key === 'generating', view.key);
    assert.equal(view.command, 'localLlm.showMenu');
    const name = llm.getStatus()?.model?.name;
    assert.ok(name);
    assert.ok(view.tooltip.includes(escapeMarkdown(name)), view.tooltip);
  });

  it('registers every command it contributes', async () => {
    await api();
    const contributed = (extension().packageJSON as { contributes: { commands: Array<{ command: string }> } }).contributes.commands.map(
      (c) => c.command,
    );
    assert.ok(contributed.length >= 6);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const id of contributed) assert.ok(registered.has(id), `${id} is not registered`);
  });

  it('opens the chat view, whose page loads and says ready', async () => {
    const llm = await api();
    assert.equal(llm.getChatView().visible, false, 'a fresh window does not show the chat yet');
    await vscode.commands.executeCommand('localLlm.openChat');
    const deadline = Date.now() + 30_000;
    while (!(llm.getChatView().visible && llm.getChatView().pageReady)) {
      assert.ok(Date.now() < deadline, `the chat view after 30 s: ${JSON.stringify(llm.getChatView())}`);
      await delay(50);
    }
  });
});
