import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { cutBeforeLine, fitInfillBudget, freshCutShare, maxCharsPerToken, type Tokenize } from '../../server/src/host/llama/tokenWindow';

/** One token per character, as the tests' generated model mostly has; counts the characters it was given. */
function charTokenizer(): { tokenize: Tokenize; seen: number[] } {
  const seen: number[] = [];
  const tokenize: Tokenize = (text) => {
    seen.push(text.length);
    return [...text].map((c) => c.charCodeAt(0) as Token);
  };
  return { tokenize, seen };
}

const lines = (from: number, count: number): string =>
  Array.from({ length: count }, (_, i) => `const v${from + i} = compute(${from + i});\n`).join('');

describe('cutBeforeLine', () => {
  it('keeps all of a text that fits', () => {
    const { tokenize } = charTokenizer();
    const text = lines(0, 3);
    const cut = cutBeforeLine(tokenize, text, 1000, null);
    assert.equal(cut.kept, text);
    assert.equal(cut.tokens.length, text.length);
  });

  it('cuts a text over budget at a line start, leaving room for lines to come', () => {
    const { tokenize } = charTokenizer();
    const text = lines(0, 100);
    const cut = cutBeforeLine(tokenize, text, 400, null);
    assert.ok(text.endsWith(cut.kept));
    assert.equal(text[text.length - cut.kept.length - 1], '\n');
    assert.ok(cut.tokens.length <= 400 * freshCutShare, `${cut.tokens.length} tokens`);
    assert.ok(cut.tokens.length > 400 * freshCutShare - 40, 'drops no more than a line too many');
  });

  it('keeps the same cut while lines are added below it, until they no longer fit', () => {
    const { tokenize } = charTokenizer();
    let text = lines(0, 100);
    let cut = cutBeforeLine(tokenize, text, 400, null);
    let moves = 0;
    for (let i = 100; i < 130; i++) {
      text += lines(i, 1);
      const next = cutBeforeLine(tokenize, text, 400, cut.kept);
      assert.ok(next.tokens.length <= 400);
      // Either the front stays and the kept text grows by the new line only, or the cut moves.
      if (next.kept !== cut.kept + lines(i, 1)) {
        moves++;
        assert.ok(next.tokens.length <= 400 * freshCutShare);
      }
      cut = next;
    }
    // 30 lines of ~30 characters against 100 free tokens: a new cut about every 3 lines, not every line.
    assert.ok(moves >= 1 && moves <= 12, `${moves} moves`);
  });

  it('gives the same tokens for the same text (typing along the cursor line)', () => {
    const { tokenize } = charTokenizer();
    const text = lines(0, 100);
    const first = cutBeforeLine(tokenize, text, 400, null);
    assert.deepEqual(cutBeforeLine(tokenize, text, 400, first.kept), first);
  });

  it('keeps all of a text that fits, even when the last cut (from another document) is found inside it', () => {
    const { tokenize } = charTokenizer();
    const other = lines(50, 2);
    const text = lines(0, 10) + other + lines(60, 3);
    const cut = cutBeforeLine(tokenize, text, 1000, other);
    assert.equal(cut.kept, text);
  });

  it('never keeps a last cut that starts inside a line', () => {
    const { tokenize } = charTokenizer();
    const text = lines(0, 100);
    const cut = cutBeforeLine(tokenize, text, 400, 'compute(99);\n');
    assert.equal(text[text.length - cut.kept.length - 1], '\n');
    assert.ok(cut.kept.length > 'compute(99);\n'.length);
  });

  it('tokenizes a bounded part of a 10 MB text', () => {
    const { tokenize, seen } = charTokenizer();
    const text = lines(0, 350_000);
    assert.ok(text.length > 10_000_000);
    const cut = cutBeforeLine(tokenize, text, 300, null);
    assert.ok(cut.tokens.length <= 300);
    assert.ok(Math.max(...seen) <= 300 * maxCharsPerToken, `tokenized ${Math.max(...seen)} characters`);
  });

  it('keeps the last tokens of one huge line', () => {
    const { tokenize } = charTokenizer();
    const text = 'x'.repeat(5000);
    const cut = cutBeforeLine(tokenize, text, 100, null);
    assert.equal(cut.tokens.length, Math.floor(100 * freshCutShare));
    assert.equal(cut.kept, '');
  });
});

describe('fitInfillBudget', () => {
  it('leaves the budgets alone when prompt and answer fit, and shrinks them to fit otherwise', () => {
    assert.deepEqual(fitInfillBudget(4096, { prefixTokens: 1024, suffixTokens: 256, maxTokens: 64 }), {
      prefixTokens: 1024,
      suffixTokens: 256,
      maxTokens: 64,
    });
    const small = fitInfillBudget(1024, { prefixTokens: 1024, suffixTokens: 256, maxTokens: 64 });
    assert.ok(small.prefixTokens + small.suffixTokens + small.maxTokens + 8 <= 1024);
  });
});
