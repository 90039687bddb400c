// Issue 25 in a real VS Code: Select Model writes each job's setting (localLlm.model for
// completions, localLlm.chat.model for chat, both for one model), and with a chat model of its
// own the status bar's tooltip names both models. A copy of the harness's tiny model under
// another path stands in for the second model, so nothing is downloaded. Each step waits for the
// status that only its own load can bring, so no earlier status answers for it.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { LocalLlmApi } from '../../../client/src/api';
import { escapeMarkdown } from '../../../client/src/status/render';
import { api, delay, waitForStatus } from './helpers';

const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('localLlm');

/** The user-settings value of a localLlm key, as Select Model writes it. */
function userValue(key: string): unknown {
  return config().inspect(key)?.globalValue;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs / 1000} s`);
    await delay(50);
  }
}

function selectModel(role: 'completion' | 'chat' | 'both', model: string): Thenable<unknown> {
  return vscode.commands.executeCommand('localLlm.selectModel', { role, model });
}

describe('model roles', function () {
  let llm: LocalLlmApi;
  let modelPath: string;
  let originalModel: unknown;
  let originalChat: unknown;
  const chatCopy = path.join(os.tmpdir(), `local-llm-roles-chat-${process.pid}.gguf`);

  before(async function () {
    llm = await api();
    await waitForStatus(llm, (s) => s.state === 'ready', 'ready model');
    originalModel = userValue('model');
    originalChat = userValue('chat.model');
    const configured = config().get<string>('model');
    assert.ok(configured, 'The harness sets localLlm.model.');
    modelPath = configured;
    copyFileSync(modelPath, chatCopy);
  });

  after(async function () {
    if (llm === undefined) return;
    await config().update('chat.model', originalChat, vscode.ConfigurationTarget.Global);
    await config().update('model', originalModel, vscode.ConfigurationTarget.Global);
    await waitForStatus(llm, (s) => s.state === 'ready' && s.model?.path === modelPath && !s.chatModel, 'the harness model alone', 180_000);
    rmSync(chatCopy, { force: true });
  });

  it('Select Model sets the model of each job', async () => {
    await selectModel('chat', chatCopy);
    await until('localLlm.chat.model set', () => userValue('chat.model') === chatCopy);
    assert.equal(userValue('model'), originalModel, 'choosing for chat leaves localLlm.model');
    await waitForStatus(
      llm,
      (s) => s.state === 'ready' && s.model?.path === modelPath && s.chatModel?.path === chatCopy,
      'the chat model loaded beside the completion model',
      180_000,
    );

    // The chat model's file for completions too: one file, so one model serves both.
    await selectModel('completion', chatCopy);
    await until('localLlm.model set', () => userValue('model') === chatCopy);
    assert.equal(userValue('chat.model'), chatCopy, 'choosing for completions leaves the chat model');
    await waitForStatus(llm, (s) => s.state === 'ready' && s.model?.path === chatCopy && !s.chatModel, 'one model from one file', 180_000);

    await selectModel('both', modelPath);
    await until('one model for both', () => userValue('model') === modelPath && userValue('chat.model') === '');
    await waitForStatus(llm, (s) => s.state === 'ready' && s.model?.path === modelPath && !s.chatModel, 'one model for both', 180_000);
  });

  it('names both models in the tooltip when chat has its own', async () => {
    await selectModel('chat', chatCopy);
    const status = await waitForStatus(
      llm,
      (s) => s.state === 'ready' && s.chatModel?.path === chatCopy,
      'a chat model of its own',
      180_000,
    );
    await until('the tooltip names both models', () => (llm.getStatusView()?.tooltip ?? '').includes('Chat model: '));
    const tooltip = llm.getStatusView()?.tooltip ?? '';
    assert.ok(tooltip.includes(`Completion model: **${escapeMarkdown(status.model?.name ?? '')}**`), tooltip);
    assert.ok(tooltip.includes(`Chat model: **${escapeMarkdown(status.chatModel?.name ?? '')}**`), tooltip);
    assert.doesNotMatch(tooltip, /\$\(lightbulb\)/, 'no base-model suggestion once chat has its own model');

    await selectModel('chat', '');
    await waitForStatus(llm, (s) => s.state === 'ready' && !s.chatModel, 'chat back on the completion model', 180_000);
    await until('the tooltip back to one model', () => !(llm.getStatusView()?.tooltip ?? '').includes('Chat model: '));
  });
});
