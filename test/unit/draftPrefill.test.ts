// The chat draft read ahead (client/src/chat/draftPrefill.ts) on a fake clock: a draft is read
// once the user pauses, a newer one cancels the one running, the send cancels it, an empty or
// unsendable draft sends nothing, the setting turns it off, and a draft skipped while the model
// slept is read again when it is ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DraftPrefill, draftQuietMs, type Draft } from '../../client/src/chat/draftPrefill';
import type { ChatTurnRequest } from '../../client/src/chat/session';
import type { ChatPrefillResult } from '../../server/src/shared/protocol';
import { FakeClock, settle } from './fakeClock';

interface Call {
  request: ChatTurnRequest;
  signal: AbortSignal;
  answer: (result: ChatPrefillResult) => void;
}

function setup(options: { enabled?: boolean; sendable?: (draft: Draft) => boolean } = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const lines: string[] = [];
  const reads: Array<ChatPrefillResult | null> = [];
  let enabled = options.enabled ?? true;
  const drafts = new DraftPrefill({
    clock,
    request: async (draft) => ((options.sendable?.(draft) ?? true) ? { sessionId: 's', message: draft.text } : null),
    prefill: (request, signal) =>
      new Promise<ChatPrefillResult>((resolve) => {
        calls.push({ request, signal, answer: resolve });
        signal.addEventListener('abort', () => resolve({ promptTokens: 0, evaluatedTokens: 0, stopped: true }));
      }),
    enabled: () => enabled,
    log: (line) => lines.push(line),
    onRead: (result) => reads.push(result),
  });
  const draft = (text: string): Draft => ({ text, mentions: [] });
  return {
    clock,
    calls,
    lines,
    reads,
    drafts,
    draft,
    setEnabled: (value: boolean) => (enabled = value),
    pause: async () => {
      await clock.advance(draftQuietMs);
      await settle();
    },
  };
}

const done: ChatPrefillResult = { promptTokens: 120, evaluatedTokens: 119, stopped: false };

describe('a chat draft read ahead', () => {
  it('is read once the user pauses, not at every key', async () => {
    const { drafts, draft, calls, clock, pause } = setup();
    drafts.changed(draft('Wh'));
    await clock.advance(draftQuietMs / 2);
    drafts.changed(draft('What'));
    await clock.advance(draftQuietMs / 2);
    await settle();
    assert.equal(calls.length, 0, 'no read while the keys come faster than the pause');
    await pause();
    assert.deepEqual(
      calls.map((c) => c.request.message),
      ['What'],
    );
  });

  it('a newer draft cancels the read running, and is read after its own pause', async () => {
    const { drafts, draft, calls, pause } = setup();
    drafts.changed(draft('What does'));
    await pause();
    assert.equal(calls.length, 1);
    drafts.changed(draft('What does sum do'));
    assert.equal(calls[0]!.signal.aborted, true);
    await pause();
    assert.deepEqual(
      calls.map((c) => c.request.message),
      ['What does', 'What does sum do'],
    );
  });

  it('the send cancels the read running, and nothing more is read of that draft', async () => {
    const { drafts, draft, calls, pause } = setup();
    drafts.changed(draft('Explain this'));
    await pause();
    drafts.cancel();
    assert.equal(calls[0]!.signal.aborted, true);
    await pause();
    drafts.modelReady();
    await settle();
    assert.equal(calls.length, 1);
  });

  it('sends nothing for an empty draft, one that would send nothing, or with the setting off', async () => {
    const blocked = setup({ sendable: (d) => !d.text.includes('@secret') });
    blocked.drafts.changed(blocked.draft('   '));
    await blocked.pause();
    blocked.drafts.changed(blocked.draft('look at @secret'));
    await blocked.pause();
    assert.equal(blocked.calls.length, 0);
    // Each says so at once, so that whoever waits for a read is answered.
    assert.deepEqual(blocked.reads, [null, null]);

    const off = setup({ enabled: false });
    off.drafts.changed(off.draft('Explain'));
    await off.pause();
    assert.equal(off.calls.length, 0);
    assert.deepEqual(off.reads, [null]);
    off.setEnabled(true);
    off.drafts.changed(off.draft('Explain this'));
    await off.pause();
    assert.equal(off.calls.length, 1);
  });

  it('a draft skipped while the model was not awake is read again once it is ready, once', async () => {
    const { drafts, draft, calls, lines, pause } = setup();
    drafts.changed(draft('Explain this'));
    await pause();
    calls[0]!.answer({ promptTokens: 0, evaluatedTokens: 0, stopped: false, skipped: 'The model is not awake.', retryWhenReady: true });
    await settle();
    assert.match(lines.join('\n'), /not read ahead: The model is not awake/);
    drafts.modelReady();
    await settle();
    assert.equal(calls.length, 2);
    calls[1]!.answer(done);
    await settle();
    assert.match(lines.at(-1) ?? '', /119 of 120 prompt tokens evaluated/);
    drafts.modelReady();
    await settle();
    assert.equal(calls.length, 2, 'a draft read already is not read again');
  });

  it('a draft skipped for another reason is not read again when the model turns ready', async () => {
    const { drafts, draft, calls, pause } = setup();
    drafts.changed(draft('Explain this'));
    await pause();
    calls[0]!.answer({ promptTokens: 0, evaluatedTokens: 0, stopped: false, skipped: 'localLlm.chat.prefill is off.' });
    await settle();
    drafts.modelReady();
    await settle();
    assert.equal(calls.length, 1);
  });
});
