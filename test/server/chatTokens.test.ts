// A chat follow-up never depends on the answer re-tokenizing (#24, DESIGN.md "Never evaluate a
// token twice"), counted over real LSP: the host keeps the chat's exact tokens, so a follow-up
// evaluates only the new message and the template around it, awake, after a light sleep and
// after a deep one, with a generated model whose answers do not tokenize back to the tokens
// generated (tiny: byte tokens, merges) and with one whose answers do (one token per character).
// A follow-up of another conversation than the one the sequence holds reuses none of it.
// Asserts counts, never timings or text.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChatRequest, SleepRequest, type ChatResult, type TokenFigures } from '../../server/src/shared/protocol';
import { tinyModel, tinyRoundTripModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

/**
 * What a follow-up may evaluate: the end of the answer's turn, the new message (one token per
 * character at most) and the assistant's start, as ChatML writes them, and the token decoded.
 */
const newPartTokens = 40;
/** Prompt tokens of the first turn that a follow-up may evaluate again: the answer's last token, never evaluated. */
const slack = 4;
const question = 'Write a function that adds two numbers';
const followUp = 'And a test';
const thirdQuestion = 'Shorter';

const models = [
  { name: 'a model whose answers do not tokenize back (tiny)', path: tinyModel },
  { name: 'a model whose answers tokenize back (one token per character)', path: tinyRoundTripModel },
];

async function start(modelPath: string, sleepMode: 'light' | 'deep'): Promise<TestServer> {
  const server = await startServer({ model: modelPath, contextSize: 4096, threads: 1, sleepIdleSeconds: 0, sleepMode });
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

/** The follow-up reused the first turn's prompt and answer and evaluated only its new part. */
function assertContinued(first: TokenFigures, next: TokenFigures, what: string): void {
  assert.ok(
    next.evaluatedTokens <= newPartTokens,
    `${what} evaluated ${next.evaluatedTokens} of ${next.promptTokens} prompt tokens (the turn before: ${first.promptTokens} prompt, ${first.generatedTokens} generated)`,
  );
  assert.ok(
    next.reusedTokens >= first.promptTokens + first.generatedTokens - slack,
    `${what} reused ${next.reusedTokens} of ${next.promptTokens}; the turn before held ${first.promptTokens} + ${first.generatedTokens}`,
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
  it('a conversation the sequence no longer holds is evaluated again, never taken from the other one', async (t) => {
    const server = await start(await tinyModel(), 'light');
    try {
      const firstA = await chat(server, 'a', question);
      const firstB = await chat(server, 'b', 'Explain recursion');
      const nextA = await chat(server, 'a', followUp);
      t.diagnostic(
        `A ${firstA.promptTokens} prompt tokens, then B; A's follow-up ${nextA.evaluatedTokens} of ${nextA.promptTokens} evaluated`,
      );
      // Only the system prompt is common to A and B; A's question and answer are evaluated again.
      assert.ok(
        nextA.reusedTokens < firstA.promptTokens,
        `A's follow-up reused ${nextA.reusedTokens}; A's first prompt had ${firstA.promptTokens}`,
      );
      assert.ok(nextA.evaluatedTokens > newPartTokens);
      // B, after A's turn, is evaluated again as well.
      const nextB = await chat(server, 'b', followUp);
      assert.ok(nextB.reusedTokens < firstB.promptTokens, 'A held the sequence last');
    } finally {
      await server.stop();
    }
  });
});
