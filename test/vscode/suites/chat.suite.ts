import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { api, recordStates, waitForState, workspaceFile } from './helpers';

const endings = ['eos', 'maxTokens', 'maxLines', 'suffix'];

describe('chat', () => {
  it('streams an answer through the panel\'s conversation', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    await vscode.commands.executeCommand('localLlm.openChat');
    await llm.newChat();
    const chunks: string[] = [];
    const outcome = await llm.chat('Write a function that adds two numbers.', { onChunk: (t) => chunks.push(t) });
    assert.ok(endings.includes(outcome.result.stopReason), outcome.result.stopReason);
    assert.equal(outcome.chunks, chunks.length);
    // Random weights say anything, possibly nothing; whatever was said came as a stream.
    if (outcome.result.text !== '') assert.ok(chunks.length >= 1);
  });

  it('sends the open file as context when asked', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    const doc = await vscode.workspace.openTextDocument(workspaceFile('fibonacci.ts'));
    await vscode.window.showTextDocument(doc);
    // The server checks the context's shape; once it streams, the context was taken. Stop there.
    let streamed = false;
    const outcome = await llm.chat('What does this file do?', {
      includeContext: true,
      onChunk: () => {
        if (streamed) return;
        streamed = true;
        llm.stopChat();
      },
    });
    assert.ok(streamed, 'the answer with context streamed');
    assert.equal(outcome.result.stopReason, 'abort');
  });

  it('Stop cancels the answer on the server', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    let stopped = false;
    const outcome = await llm.chat('Tell me a very long story.', {
      onChunk: () => {
        if (stopped) return;
        stopped = true;
        llm.stopChat();
      },
    });
    assert.ok(stopped, 'the answer streamed at least one piece before it ended');
    assert.equal(outcome.result.stopReason, 'abort');
  });

  it('a message to a sleeping model wakes it and is answered, and New chat still works after', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    await llm.sleep();
    const seen = recordStates(llm);
    try {
      const outcome = await llm.chat('Are you awake?');
      assert.ok(endings.includes(outcome.result.stopReason), outcome.result.stopReason);
      assert.deepEqual(seen.states.filter((s) => s === 'waking' || s === 'ready').slice(0, 2), ['waking', 'ready']);
    } finally {
      seen.dispose();
    }
    await llm.newChat();
  });
});
