// Prompt-lookup drafts in the real, built model host on the generated tiny model: the output with
// drafts equals the output without them, token for token (the host samples greedily: no
// temperature is ever set, and node-llama-cpp's default is 0), and the figures say how many
// tokens were drafted and accepted. Random weights loop, so their greedy output often repeats
// itself or the prompt, and drafts are accepted there. Counts only, never timings.
// Run: npm run build && node --import tsx --test test/host/lookup.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GenerationResult, HostChatMessage, InfillParams, LoadParams } from '../../server/src/engine/types';
import type { HostProcess } from '../../server/src/engine/local/hostProcess';
import { tinyModel } from '../fixtures/models';
import { infill, spawnOwnHost } from '../fixtures/ownHost';

const runtimeDirs: string[] = [];

/** A host of its own, so that two hosts of one identity can differ in lookup. */
function spawnHost(params: LoadParams, log?: (line: string) => void): HostProcess {
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'llm-rt-lookup-'));
  runtimeDirs.push(runtimeDir);
  return spawnOwnHost(params, { runtimeDir, hooks: { hostGraceMs: 1000 }, sleepMode: 'deep', log });
}

const prompts: InfillParams[] = [
  infill('function add(a, b) {\n', '  return ', 48),
  // A repeated structure: the answer is likely to repeat the prompt.
  infill(
    'const rows = [\n' + Array.from({ length: 12 }, (_, i) => `  { id: ${i}, name: "row${i}", done: false },\n`).join(''),
    '  { id: ',
    64,
  ),
  infill('abcabcabcabcabcabcabcabcabcabcabcabc\n'.repeat(6), 'abcabc', 64),
  infill('if (x) {\n  x = x + 1;\n}\n'.repeat(8), 'if (x) {\n', 64),
  infill('let total = 0;\nfor (const item of items) {\n', '  total += ', 32),
];

const chats: HostChatMessage[][] = [
  [{ role: 'user', text: 'Repeat after me: one two three one two three one two three.' }],
  [
    { role: 'system', text: 'You are terse.' },
    { role: 'user', text: 'What is 2 + 2?' },
    { role: 'assistant', text: '4' },
    { role: 'user', text: 'And 3 + 3?' },
  ],
];

/** What must be equal with and without drafts: the answer and its counts. */
const outcome = (r: GenerationResult) => ({
  text: r.text,
  stopReason: r.stopReason,
  tokens: r.tokens,
  promptTokens: r.figures.promptTokens,
  generatedTokens: r.figures.generatedTokens,
});

describe('prompt lookup in the model host', () => {
  let model: string;
  let on: HostProcess;
  let off: HostProcess;
  const params = (lookup: boolean): LoadParams => ({
    modelPath: model,
    gpu: 'auto',
    gpuLayers: 'auto',
    contextSize: 1024,
    threads: os.availableParallelism(),
    lookup,
  });

  before(async () => {
    model = await tinyModel();
    on = spawnHost(params(true));
    off = spawnHost(params(false));
    await on.load(params(true));
    await off.load(params(false));
  });
  after(async () => {
    await on?.shutdown(5000);
    await off?.shutdown(5000);
    for (const dir of runtimeDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('completes every prompt exactly as without drafts, and counts drafted and accepted tokens', async () => {
    let drafted = 0;
    let accepted = 0;
    for (const p of prompts) {
      const withLookup = await on.infill(p);
      const without = await off.infill(p);
      assert.deepEqual(outcome(withLookup), outcome(without), `the same answer for ${JSON.stringify(p.middle)}`);
      assert.equal(without.figures.draftedTokens, undefined, 'no drafts with lookup off');
      const f = withLookup.figures;
      if (f.draftedTokens !== undefined) {
        assert.ok(f.draftedTokens > 0);
        assert.ok(f.acceptedTokens !== undefined && f.acceptedTokens >= 0 && f.acceptedTokens <= f.draftedTokens);
        drafted += f.draftedTokens;
        accepted += f.acceptedTokens;
      }
    }
    assert.ok(drafted > 0, 'some tokens were drafted');
    assert.ok(accepted > 0, `some of the ${drafted} drafted tokens were accepted`);
  });

  it('answers every chat exactly as without drafts', async () => {
    let drafted = 0;
    for (const messages of chats) {
      const chunksOn: string[] = [];
      const chunksOff: string[] = [];
      const withLookup = await on.chat({ messages, maxTokens: 64 }, (c) => chunksOn.push(c));
      const without = await off.chat({ messages, maxTokens: 64 }, (c) => chunksOff.push(c));
      assert.deepEqual(outcome(withLookup), outcome(without));
      assert.equal(chunksOn.join(''), chunksOff.join(''));
      drafted += withLookup.figures.draftedTokens ?? 0;
    }
    assert.ok(drafted > 0, 'the chat sequence drafts too');
  });

  it('stops drafting for completions where drafts are mostly refused, says so in the log, and answers the same', async () => {
    const lines: string[] = [];
    const judged = spawnHost(params(true), (line) => lines.push(line));
    try {
      await judged.load(params(true));
      const turnedOff = (): boolean => lines.some((l) => /Prompt lookup is now off for completions/.test(l));
      // Ordinary code, where the random model's noise seldom repeats itself: few drafts are accepted.
      const prompt = (i: number): InfillParams => infill(`function add${i}(a, b) {\n`, `  return a * ${i} + `, 24);
      let i = 0;
      for (; i < 40 && !turnedOff(); i++) await judged.infill(prompt(i));
      assert.ok(turnedOff(), `the log says drafts stopped: ${lines.join(' | ')}`);
      const after = await judged.infill(prompt(i));
      assert.equal(after.figures.draftedTokens, undefined, 'nothing drafted once it is off');
      assert.deepEqual(outcome(after), outcome(await off.infill(prompt(i))));
    } finally {
      await judged.shutdown(5000);
    }
  });
});
