// A chat draft's prompt evaluated ahead (localLlm/chatPrefill), counted over real LSP with the
// generated model: the turn sent with the draft's text evaluates one token of its prompt, a first
// turn and a follow-up alike; a changed draft costs only what changed; the answer is the same with
// or without the prefill; and a prefill never wakes the model, never runs beside an answer, and
// stops when cancelled. Asserts counts and texts, never timings.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import {
  ChatPrefillRequest,
  ChatRequest,
  SleepRequest,
  type ChatParams,
  type ChatPart,
  type ChatPrefillResult,
  type ChatResult,
  type TokenFigures,
} from '../../server/src/shared/protocol';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

type TurnParams = Omit<ChatParams, 'partialResultToken' | 'workDoneToken'>;

/** What a turn sent after its draft's prefill may evaluate: the last token, which the answer samples from, and a token re-split at the end. */
const afterPrefill = 2;

/** A mentioned file of about 700 tokens (byte tokens): what a draft's prefill is for; two fit the context with an answer. */
const mention: ChatPart = {
  kind: 'file',
  label: 'src/sum.ts',
  source: { uri: 'file:///workspace/src/sum.ts' },
  text: Array.from({ length: 10 }, (_, i) => `export function sum${i}(a: number, b: number): number {\n  return a + b + ${i};\n}`).join(
    '\n',
  ),
};

async function start(settings: Record<string, unknown> = {}, state: 'ready' | 'sleeping' = 'ready'): Promise<TestServer> {
  const server = await startServer({ model: await tinyModel(), contextSize: 4096, threads: 1, sleepIdleSeconds: 0, ...settings });
  await server.waitForState(state);
  return server;
}

function prefill(server: TestServer, params: TurnParams, cancel?: CancellationTokenSource): Promise<ChatPrefillResult> {
  return server.connection.sendRequest(ChatPrefillRequest.type, params, cancel?.token);
}

async function turn(server: TestServer, params: TurnParams): Promise<{ result: ChatResult; figures: TokenFigures }> {
  const result: ChatResult = await server.connection.sendRequest(ChatRequest.type, params);
  assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
  const figures = (await server.status()).lastChat;
  assert.ok(figures, 'the status carries the chat figures');
  return { result, figures };
}

function assertPrefilled(draft: ChatPrefillResult, figures: TokenFigures, what: string): void {
  assert.equal(draft.skipped, undefined, `${what}: the prefill ran (${draft.skipped})`);
  assert.equal(draft.stopped, false);
  assert.ok(draft.evaluatedTokens > 100, `${what}: the prefill evaluated ${draft.evaluatedTokens} of ${draft.promptTokens}`);
  assert.equal(figures.promptTokens, draft.promptTokens, `${what}: the turn's prompt is the one prefilled`);
  assert.ok(
    figures.evaluatedTokens <= afterPrefill,
    `${what}: the turn evaluated ${figures.evaluatedTokens} of ${figures.promptTokens} prompt tokens after its prefill`,
  );
}

describe('a chat draft evaluated ahead', () => {
  it('the first turn and a follow-up, sent as drafted, each evaluate one token of their prompt', async (t) => {
    const server = await start();
    try {
      // The code pasted into the question itself, which the history keeps (a mention it does not).
      const first: TurnParams = { sessionId: 'drafted', message: `What do these functions return?\n${mention.text}` };
      const firstDraft = await prefill(server, first);
      const firstTurn = await turn(server, first);
      assertPrefilled(firstDraft, firstTurn.figures, 'the first turn');

      const next: TurnParams = { sessionId: 'drafted', message: 'And which one adds 7?', parts: [mention] };
      const nextDraft = await prefill(server, next);
      const nextTurn = await turn(server, next);
      assertPrefilled(nextDraft, nextTurn.figures, 'the follow-up');
      t.diagnostic(
        `first: prefill ${firstDraft.evaluatedTokens} of ${firstDraft.promptTokens}, turn ${firstTurn.figures.evaluatedTokens}; ` +
          `follow-up: prefill ${nextDraft.evaluatedTokens} of ${nextDraft.promptTokens}, turn ${nextTurn.figures.evaluatedTokens}`,
      );
      // The follow-up's prefill continued the conversation held: the first turn was not evaluated again.
      const reused = nextDraft.promptTokens - nextDraft.evaluatedTokens;
      assert.ok(reused >= firstTurn.figures.promptTokens - 4, `the follow-up's prefill reused ${reused} tokens`);
    } finally {
      await server.stop();
    }
  });

  it('the answer is the same as without the prefill, token for token', async () => {
    const server = await start();
    try {
      const question = { message: 'Explain what sum3 does', parts: [mention] };
      const plain = await turn(server, { sessionId: 'plain', ...question });
      await prefill(server, { sessionId: 'prefilled', ...question });
      const prefilled = await turn(server, { sessionId: 'prefilled', ...question });
      assert.ok(prefilled.figures.evaluatedTokens <= afterPrefill, `evaluated ${prefilled.figures.evaluatedTokens}`);
      assert.equal(prefilled.result.text, plain.result.text);
      assert.equal(prefilled.figures.generatedTokens, plain.figures.generatedTokens);
    } finally {
      await server.stop();
    }
  });

  it('a question changed after its prefill evaluates only from where it differs', async (t) => {
    const server = await start();
    try {
      const draft = await prefill(server, { sessionId: 'edited', message: 'What does sum3 return', parts: [mention] });
      const sent = await turn(server, { sessionId: 'edited', message: 'What does sum3 return for 1 and 2?', parts: [mention] });
      t.diagnostic(
        `prefill ${draft.evaluatedTokens}; the edited turn evaluated ${sent.figures.evaluatedTokens} of ${sent.figures.promptTokens}`,
      );
      assert.ok(sent.figures.evaluatedTokens > afterPrefill, 'the new end of the question is evaluated');
      assert.ok(sent.figures.evaluatedTokens <= 40, `evaluated ${sent.figures.evaluatedTokens}: more than the question's new end`);
    } finally {
      await server.stop();
    }
  });

  for (const sleepMode of ['light', 'deep'] as const) {
    it(`what a draft's prefill evaluated is kept across a ${sleepMode} sleep: the turn after the wake evaluates one token`, async () => {
      const server = await start({ sleepMode });
      try {
        const params: TurnParams = { sessionId: `slept-${sleepMode}`, message: 'Which function adds 4?', parts: [mention] };
        const draft = await prefill(server, params);
        assert.equal((await server.connection.sendRequest(SleepRequest.type)).state, 'sleeping');
        const sent = await turn(server, params);
        assert.equal((await server.status()).counters.wakes, 1);
        assertPrefilled(draft, sent.figures, `after a ${sleepMode} sleep`);
      } finally {
        await server.stop();
      }
    });
  }

  it('a cancelled prefill stops at its next batch, and the turn after it is answered from what it kept', async () => {
    const server = await start();
    try {
      const params: TurnParams = { sessionId: 'cancelled', message: 'Which function adds the most?', parts: [mention] };
      const cancel = new CancellationTokenSource();
      const pending = prefill(server, params, cancel);
      cancel.cancel();
      const stopped = await pending;
      assert.equal(stopped.stopped, true, JSON.stringify(stopped));
      const sent = await turn(server, params);
      assert.ok(sent.figures.evaluatedTokens >= 1);
      assert.equal(sent.figures.evaluatedTokens + sent.figures.reusedTokens, sent.figures.promptTokens);
    } finally {
      await server.stop();
    }
  });

  it('of two drafts sent at once, the newer is read, and its turn evaluates one token', async () => {
    const server = await start();
    try {
      const older: TurnParams = { sessionId: 'two', message: 'What does sum', parts: [mention] };
      const newer: TurnParams = { sessionId: 'two', message: 'What does sum9 return?', parts: [mention] };
      const [, read] = await Promise.all([prefill(server, older), prefill(server, newer)]);
      const sent = await turn(server, newer);
      // What the older one evaluated first (its start is the newer's) may be kept: count the turn, not the read.
      assert.equal(read.skipped, undefined);
      assert.equal(read.stopped, false);
      assert.equal(sent.figures.promptTokens, read.promptTokens, "the turn's prompt is the newer draft's");
      assert.ok(sent.figures.evaluatedTokens <= afterPrefill, `the turn evaluated ${sent.figures.evaluatedTokens}`);
    } finally {
      await server.stop();
    }
  });

  it('is skipped while an answer is being written: the history is about to change', async () => {
    const server = await start();
    try {
      const answering = server.connection.sendRequest(ChatRequest.type, { sessionId: 'busy', message: 'Write a haiku' });
      const draft = await prefill(server, { sessionId: 'busy', message: 'And another', parts: [mention] });
      assert.match(draft.skipped ?? '', /answer is being written/);
      assert.equal(draft.evaluatedTokens, 0);
      await answering;
    } finally {
      await server.stop();
    }
  });

  it('never wakes a sleeping model', async () => {
    const server = await start({ loadOnStartup: false }, 'sleeping');
    try {
      // Started without loading: the model sleeps until a request needs it.
      const draft = await prefill(server, { sessionId: 'asleep', message: 'Anything', parts: [mention] });
      assert.match(draft.skipped ?? '', /not awake/);
      const status = await server.status();
      assert.equal(status.counters.loads, 0);
      assert.equal(status.state, 'sleeping');
    } finally {
      await server.stop();
    }
  });

  it('does nothing with localLlm.chat.prefill off', async () => {
    const server = await start({ chat: { prefill: false } });
    try {
      const draft = await prefill(server, { sessionId: 'off', message: 'Anything', parts: [mention] });
      assert.match(draft.skipped ?? '', /localLlm\.chat\.prefill is off/);
      const sent = await turn(server, { sessionId: 'off', message: 'Anything', parts: [mention] });
      assert.ok(sent.figures.evaluatedTokens > 100, 'the turn evaluated its prompt itself');
    } finally {
      await server.stop();
    }
  });
});
