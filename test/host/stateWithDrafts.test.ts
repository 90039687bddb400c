// State saved across sleep while prompt-lookup drafts are pending (#20, the CI failure "Eval has
// failed"): a generation that ends, or is stopped, right after the model verified a batch of
// drafted tokens leaves those drafts in the KV cache past the sequence's accepted tokens. The
// state file must hold exactly the accepted tokens, or every evaluation after the wake fails.
// In the real, built model host on the generated tiny model, whose greedy output loops, so
// drafts are made and pending at many stops. Asserts answers and counts, never timings.
// Run: npm run build && node --import tsx --test test/host/stateWithDrafts.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GenerationResult, HostChatMessage, InfillParams, LoadParams } from '../../server/src/engine/types';
import type { HostProcess } from '../../server/src/engine/local/hostProcess';
import { tinyModel } from '../fixtures/models';
import { infill, spawnOwnHost } from '../fixtures/ownHost';

const temp = mkdtempSync(path.join(os.tmpdir(), 'llm-drafts-state-'));

function spawnHost(params: LoadParams, name: string): HostProcess {
  const runtimeDir = mkdtempSync(path.join(temp, `rt-${name}-`));
  return spawnOwnHost(params, { runtimeDir, hooks: { hostGraceMs: 1000 }, sleepMode: 'deep', stateCapBytes: 64 * 1024 * 1024 });
}

/** Repeated structures, cut at several lengths: some stops fall right after a verified draft batch. */
const completions: InfillParams[] = [5, 9, 14, 23, 31].flatMap((maxTokens) => [
  infill('abcabcabcabcabcabcabcabcabcabcabcabc\n'.repeat(6), 'abcabc', maxTokens),
  infill('if (x) {\n  x = x + 1;\n}\n'.repeat(8), 'if (x) {\n', maxTokens),
]);
const question: HostChatMessage[] = [{ role: 'user', text: 'Repeat after me: one two three one two three one two three.' }];

const outcome = (r: GenerationResult) => ({ text: r.text, stopReason: r.stopReason, tokens: r.tokens });

describe('state saved while drafts are pending', () => {
  let params: LoadParams;
  before(async () => {
    params = { modelPath: await tinyModel(), gpu: 'auto', gpuLayers: 'auto', contextSize: 1024, threads: 1, lookup: true };
  });
  after(() => rmSync(temp, { recursive: true, force: true }));

  it('a host that saves, unloads and loads its state between requests answers as one that stayed awake, and never fails', async () => {
    const stateDir = path.join(temp, 'state');
    const slept = spawnHost({ ...params, stateDir }, 'slept');
    const awake = spawnHost(params, 'awake');
    try {
      await slept.load({ ...params, stateDir });
      await awake.load(params);
      let drafted = 0;
      for (const [i, p] of completions.entries()) {
        const first = await slept.infill(p);
        assert.deepEqual(outcome(first), outcome(await awake.infill(p)), `completion ${i}`);
        drafted += first.figures.draftedTokens ?? 0;
        const chatted = await slept.chat({ messages: question, maxTokens: p.maxTokens }, () => undefined);
        assert.deepEqual(
          outcome(chatted),
          outcome(await awake.chat({ messages: question, maxTokens: p.maxTokens }, () => undefined)),
          `chat ${i}`,
        );
        drafted += chatted.figures.draftedTokens ?? 0;
        await slept.saveState({ capBytes: 64 * 1024 * 1024 });
        await slept.unload();
        await slept.load({ ...params, stateDir });
        // Follow-ups of what the saved state holds: a completion of another end, a chat turn after the answer.
        const next = completions[(i + 1) % completions.length];
        assert.deepEqual(outcome(await slept.infill(next)), outcome(await awake.infill(next)), `completion after the wake ${i}`);
        const followUp: HostChatMessage[] = [...question, { role: 'assistant', text: chatted.text }, { role: 'user', text: 'Again.' }];
        const a = await slept.chat({ messages: followUp, maxTokens: 8 }, () => undefined);
        const b = await awake.chat({ messages: followUp, maxTokens: 8 }, () => undefined);
        assert.deepEqual(outcome(a), outcome(b), `chat after the wake ${i}`);
      }
      assert.ok(drafted > 0, 'drafts were made');
    } finally {
      await slept.shutdown(5000);
      await awake.shutdown(5000);
    }
  });
});
