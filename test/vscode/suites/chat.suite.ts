import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { LocalLlmApi } from '../../../client/src/api';
import { api, recordStates, sleepUntilAsleep, waitForState, waitForStatus, workspaceFile } from './helpers';

const endings = ['eos', 'maxTokens', 'maxLines', 'suffix'];

type TurnOutcome = Awaited<ReturnType<LocalLlmApi['chat']>>;

/** One turn, stopped as soon as its first piece streams. */
async function chatUntilFirstChunk(
  llm: LocalLlmApi,
  message: string,
  includeContext: boolean,
): Promise<TurnOutcome & { streamed: boolean }> {
  let streamed = false;
  const outcome = await llm.chat(message, {
    includeContext,
    onChunk: () => {
      if (streamed) return;
      streamed = true;
      llm.stopChat();
    },
  });
  return { ...outcome, streamed };
}

describe('chat', () => {
  it("streams an answer through the panel's conversation", async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    await vscode.commands.executeCommand('localLlm.openChat');
    await llm.newChat();
    const chunks: string[] = [];
    const outcome = await llm.chat('Write a function that adds two numbers.', { onChunk: (t) => chunks.push(t) });
    assert.ok(endings.includes(outcome.result.stopReason), outcome.result.stopReason);
    // Random weights say anything, but greedily: this question gets a non-empty answer, and the
    // server's final text is exactly what streamed, piece by piece.
    assert.notEqual(outcome.result.text, '', 'the model answered something');
    assert.ok(chunks.length >= 1, 'the answer streamed');
    assert.equal(chunks.join(''), outcome.result.text);
  });

  it('sends the open file as context when asked, and it reaches the model', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    const doc = await vscode.workspace.openTextDocument(workspaceFile('fibonacci.ts'));
    await vscode.window.showTextDocument(doc);
    // The server checks the context's shape; once it streams, the context was taken. Stop there.
    const small = await chatUntilFirstChunk(llm, 'What does this file do?', true);
    assert.ok(small.streamed, 'the answer with context streamed');
    assert.equal(small.result.stopReason, 'abort');

    // A file over 4,096 tokens even after the server's cut to 6,000 characters: only the model's
    // tokenizer on the server can tell it does not fit the 4,096-token context. So a refusal
    // shows that the file went all the way to the model, and without it the question is answered.
    const line = 'export const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => v * 2);\n';
    const big = await vscode.workspace.openTextDocument({ language: 'typescript', content: line.repeat(200) });
    await vscode.window.showTextDocument(big);
    try {
      await assert.rejects(llm.chat('What does this file do?', { includeContext: true }), /context take \d+ tokens, too many/);
      const without = await chatUntilFirstChunk(llm, 'What does this file do?', false);
      assert.ok(without.streamed, 'without the file the same question is answered');
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
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

  it('a question written and paused on is read ahead; sent as written, its turn evaluates one token of its prompt', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    await llm.newChat();
    const question = 'What does a function that adds two numbers return for 2 and 3? Answer with the number.';
    const read = await llm.draftChat(question);
    assert.ok(read && read.skipped === undefined, `the draft was read ahead: ${JSON.stringify(read)}`);
    assert.ok(read.evaluatedTokens > 20, `the read-ahead evaluated ${read.evaluatedTokens} tokens`);
    const before = JSON.stringify(llm.getStatus()?.lastChat ?? null);
    const outcome = await llm.chat(question);
    assert.ok(endings.includes(outcome.result.stopReason), outcome.result.stopReason);
    const status = await waitForStatus(llm, (s) => s.lastChat !== null && JSON.stringify(s.lastChat) !== before, "the turn's figures");
    const figures = status.lastChat!;
    assert.equal(figures.promptTokens, read.promptTokens, "the turn's prompt is the draft's");
    assert.ok(figures.evaluatedTokens <= 2, `the turn evaluated ${figures.evaluatedTokens} of ${figures.promptTokens} prompt tokens`);
  });

  it('a message to a sleeping model wakes it and is answered, and New chat still works after', async () => {
    const llm = await api();
    await waitForState(llm, 'ready');
    await sleepUntilAsleep(llm);
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
