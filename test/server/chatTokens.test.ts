// A chat follow-up never depends on the answer re-tokenizing (#24, DESIGN.md "Never evaluate a
// token twice"), counted over real LSP: the host keeps the chat's exact tokens, so a follow-up
// evaluates only the new message and the template around it, awake, after a light sleep and
// after a deep one, with a generated model whose answers do not tokenize back to the tokens
// generated (tiny: byte tokens, merges) and with one whose answers do (one token per character).
// A follow-up of another conversation than the one the sequence holds reuses none of it.
// Asserts counts, never timings or text.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChatRequest, SleepRequest, type ChatResult, type TokenFigures } from '../../server/src/shared/protocol';
import { tinyModel, tinyRoundTripModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

/**
 * What a follow-up may evaluate: the end of the answer's turn, the new message (one token per
 * character at most) and the assistant's start, as ChatML writes them, and the token decoded.
 */
const newPartTokens = 40;
/** Prompt tokens of the turn before that a follow-up may evaluate again: a token re-split at the seam. */
const slack = 4;
const question = 'Write a function that adds two numbers';
const followUp = 'And a test';
const thirdQuestion = 'Shorter';

const models = [
  { name: 'a model whose answers do not tokenize back (tiny)', path: tinyModel },
  { name: 'a model whose answers tokenize back (one token per character)', path: tinyRoundTripModel },
];

async function start(modelPath: string, sleepMode: 'light' | 'deep', contextSize = 4096, storageDir?: string): Promise<TestServer> {
  const server = await startServer({ model: modelPath, contextSize, threads: 1, sleepIdleSeconds: 0, sleepMode }, { storageDir });
  await server.waitForState('ready');
  return server;
}

async function chat(server: TestServer, sessionId: string, message: string): Promise<TokenFigures> {
  const result: ChatResult = await server.connection.sendRequest(ChatRequest.type, { sessionId, message });
  assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
  const f = (await server.status()).lastChat;
  assert.ok(f, 'the status carries the chat figures');
  assert.equal(f.reusedTokens, f.promptTokens - f.evaluatedTokens);
  return f;
}

/**
 * The follow-up evaluated only its new part, reusing the turn before (its prompt and its answer as
 * generated; tokens the library held back and never showed, such as half characters, are no part
 * of the answer and are dropped).
 */
function assertContinued(first: TokenFigures, next: TokenFigures, what: string): void {
  assert.ok(
    next.evaluatedTokens <= newPartTokens,
    `${what} evaluated ${next.evaluatedTokens} of ${next.promptTokens} prompt tokens (the turn before: ${first.promptTokens} prompt, ${first.generatedTokens} generated)`,
  );
  assert.ok(
    next.reusedTokens >= first.promptTokens - slack,
    `${what} reused ${next.reusedTokens} of ${next.promptTokens}; the turn before had ${first.promptTokens} prompt tokens`,
  );
}

for (const model of models) {
  describe(`chat follow-ups with ${model.name}`, () => {
    it('awake: each follow-up evaluates only its new message', async (t) => {
      const server = await start(await model.path(), 'light');
      try {
        const first = await chat(server, 'awake', question);
        const second = await chat(server, 'awake', followUp);
        const third = await chat(server, 'awake', thirdQuestion);
        t.diagnostic(
          `awake: first ${first.promptTokens} prompt + ${first.generatedTokens} generated; follow-up ${second.evaluatedTokens} of ${second.promptTokens} evaluated; ` +
            `third turn ${third.evaluatedTokens} of ${third.promptTokens}`,
        );
        assertContinued(first, second, 'the follow-up');
        assertContinued(second, third, 'the third turn');
      } finally {
        await server.stop();
      }
    });

    for (const sleepMode of ['light', 'deep'] as const) {
      it(`after a ${sleepMode} sleep: the follow-up evaluates only its new message`, async (t) => {
        const server = await start(await model.path(), sleepMode);
        try {
          const first = await chat(server, sleepMode, question);
          const status = await server.connection.sendRequest(SleepRequest.type);
          assert.equal(status.state, 'sleeping');
          const next = await chat(server, sleepMode, followUp);
          assert.equal((await server.status()).counters.wakes, 1);
          t.diagnostic(
            `${sleepMode} sleep: first ${first.promptTokens} prompt + ${first.generatedTokens} generated; follow-up ${next.evaluatedTokens} of ${next.promptTokens} evaluated`,
          );
          assertContinued(first, next, `the follow-up after a ${sleepMode} sleep`);
        } finally {
          await server.stop();
        }
      });
    }
  });
}

describe('chat follow-ups of another conversation', () => {
  it('a conversation the sequence no longer holds continues from its own kept state (#21), never from the other one', async (t) => {
    const server = await start(await tinyModel(), 'light');
    try {
      const firstA = await chat(server, 'a', question);
      const firstB = await chat(server, 'b', 'Explain recursion');
      const nextA = await chat(server, 'a', followUp);
      t.diagnostic(
        `A ${firstA.promptTokens} prompt tokens, then B; A's follow-up ${nextA.evaluatedTokens} of ${nextA.promptTokens} evaluated`,
      );
      assertContinued(firstA, nextA, "A's follow-up after B");
      // B's state was kept in turn when A took the sequence back.
      const nextB = await chat(server, 'b', followUp);
      assertContinued(firstB, nextB, "B's follow-up after A");
    } finally {
      await server.stop();
    }
  });

  it('with no state kept (localLlm.stateCacheMB 0) such a conversation is evaluated again', async (t) => {
    const server = await startServer({ model: await tinyModel(), contextSize: 4096, threads: 1, sleepIdleSeconds: 0, stateCacheMB: 0 });
    try {
      await server.waitForState('ready');
      const firstA = await chat(server, 'a', question);
      await chat(server, 'b', 'Explain recursion');
      const nextA = await chat(server, 'a', followUp);
      t.diagnostic(`no state kept: A's follow-up ${nextA.evaluatedTokens} of ${nextA.promptTokens} evaluated`);
      // Only the system prompt is common to A and B; A's question and answer are evaluated again.
      assert.ok(
        nextA.reusedTokens < firstA.promptTokens,
        `A's follow-up reused ${nextA.reusedTokens}; A's first prompt had ${firstA.promptTokens}`,
      );
      assert.ok(nextA.evaluatedTokens > newPartTokens);
    } finally {
      await server.stop();
    }
  });

  it('a follow-up whose earlier turn no longer fits the context drops it and is evaluated without it', async (t) => {
    // 1024 tokens: the first answer takes half (the round-trip model never stops early), so the
    // follow-up's history does not fit with room for its answer and the first turn is dropped.
    const server = await start(await tinyRoundTripModel(), 'light', 1024);
    try {
      const first = await chat(server, 'trim', question);
      const next = await chat(server, 'trim', followUp);
      t.diagnostic(
        `first ${first.promptTokens} prompt + ${first.generatedTokens} generated; follow-up ${next.evaluatedTokens} of ${next.promptTokens} evaluated`,
      );
      assert.ok(next.promptTokens < first.promptTokens, `the follow-up's prompt (${next.promptTokens}) is without the first turn`);
      assert.ok(next.reusedTokens < next.promptTokens, 'what follows the system prompt is evaluated');
    } finally {
      await server.stop();
    }
  });

  it('a saved chat record that does not match the state is not followed: the answer is evaluated again', async (t) => {
    const storageDir = await mkdtemp(path.join(os.tmpdir(), 'local-llm-chat-tokens-'));
    const server = await start(await tinyModel(), 'light', 4096, storageDir);
    try {
      const first = await chat(server, 'tampered', question);
      assert.equal((await server.connection.sendRequest(SleepRequest.type)).state, 'sleeping');
      const stateDir = path.join(storageDir, 'state');
      const name = (await readdir(stateDir)).find((f) => f.endsWith('-chat.json'));
      assert.ok(name, 'the chat state has a record');
      const file = path.join(stateDir, name);
      const record = JSON.parse(await readFile(file, 'utf8')) as { chat?: { tokensKey: string } | null };
      assert.ok(record.chat, 'the record says which conversation the tokens hold');
      // Tokens other than those the conversation was recorded with.
      record.chat.tokensKey = record.chat.tokensKey.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      await writeFile(file, JSON.stringify(record));
      const next = await chat(server, 'tampered', followUp);
      t.diagnostic(`tampered record: follow-up ${next.evaluatedTokens} of ${next.promptTokens} evaluated`);
      assert.ok(next.evaluatedTokens > newPartTokens, `the follow-up evaluated ${next.evaluatedTokens}: the record was followed`);
      // The state itself matched and was restored: the first prompt is reused as text allows.
      assert.ok(next.reusedTokens >= first.promptTokens - slack, `reused ${next.reusedTokens}; the first prompt had ${first.promptTokens}`);
    } finally {
      await server.stop();
      await rm(storageDir, { recursive: true, force: true });
    }
  });
});
