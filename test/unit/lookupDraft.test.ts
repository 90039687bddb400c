import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookupDraft } from '../../server/src/host/llama/lookupDraft';
import { LookupPayoff, minAcceptance, payoffWindow } from '../../server/src/host/llama/lookupPayoff';
import { formatLookupFigures, formatTokenFigures } from '../../server/src/shared/format';
import type { TokenFigures } from '../../server/src/shared/protocol';
import { normalizeSettings } from '../../server/src/shared/settings';

const options = { minMatch: 2, maxMatch: 4, maxDraft: 3 };

describe('lookupDraft', () => {
  it('drafts what followed the tail earlier in the tokens', () => {
    // "1 2 3 4 5 ... 1 2" -> 3 4 5
    assert.deepEqual(lookupDraft([1, 2, 3, 4, 5, 9, 9, 1, 2], options), [3, 4, 5]);
  });

  it('prefers the longest matching tail over a later, shorter one', () => {
    // "7 1 2" appears at the start and is followed by 3; "1 2" alone appears later, followed by 8.
    assert.deepEqual(lookupDraft([7, 1, 2, 3, 0, 1, 2, 8, 0, 7, 1, 2], options), [3, 0, 1]);
  });

  it('prefers the latest occurrence among tails of the same length', () => {
    assert.deepEqual(lookupDraft([1, 2, 3, 3, 3, 1, 2, 4, 4, 4, 1, 2], options), [4, 4, 4]);
  });

  it('drafts nothing below the shortest match, and nothing for too few tokens', () => {
    assert.deepEqual(lookupDraft([1, 5, 6, 7, 1], options), [], 'one token matching is not enough');
    assert.deepEqual(lookupDraft([], options), []);
    assert.deepEqual(lookupDraft([1], options), []);
    assert.deepEqual(lookupDraft([1, 2, 3, 4], options), []);
  });

  it('drafts a loop whole, past the end of what was seen', () => {
    // A period-1 loop: the latest "5 5" is followed only by the last 5; the draft repeats it.
    assert.deepEqual(lookupDraft([0, 5, 5, 5], { ...options, maxDraft: 5 }), [5, 5, 5, 5, 5]);
    // A period-2 loop.
    assert.deepEqual(lookupDraft([9, 1, 2, 1, 2, 1, 2], { ...options, maxDraft: 5 }), [1, 2, 1, 2, 1]);
  });

  it('never drafts more than maxDraft', () => {
    const tokens = [...Array.from({ length: 50 }, (_, i) => i), 10, 11];
    assert.deepEqual(lookupDraft(tokens, { minMatch: 2, maxMatch: 8, maxDraft: 8 }), [12, 13, 14, 15, 16, 17, 18, 19]);
  });
});

describe('LookupPayoff', () => {
  it('turns drafts off once a full window accepted too little, and says it once', () => {
    const payoff = new LookupPayoff();
    for (let i = 0; i < payoffWindow - 1; i++) assert.equal(payoff.record(10, 0).off, false, 'not before a full window');
    const verdict = payoff.record(10, 0);
    assert.deepEqual(verdict, { off: true, drafted: 10 * payoffWindow, accepted: 0 });
    assert.equal(payoff.isOff, true);
    assert.equal(payoff.record(10, 0).off, false, 'said once');
  });

  it('keeps drafts on while the window accepts enough', () => {
    const payoff = new LookupPayoff();
    const accepted = Math.ceil(10 * minAcceptance);
    for (let i = 0; i < payoffWindow * 3; i++) assert.equal(payoff.record(10, accepted).off, false);
    assert.equal(payoff.isOff, false);
  });

  it('judges only the latest window, and ignores requests that drafted nothing', () => {
    const payoff = new LookupPayoff();
    for (let i = 0; i < payoffWindow - 1; i++) payoff.record(10, 10);
    for (let i = 0; i < 20; i++) assert.equal(payoff.record(0, 0).off, false);
    // Good requests slide out one by one; once they are mostly gone the window fails.
    let off = false;
    let bad = 0;
    while (!off && bad < payoffWindow * 2) {
      off = payoff.record(10, 0).off;
      bad++;
    }
    assert.ok(off, 'bad requests turn it off once they fill most of the window');
    assert.ok(bad > 1, `not at the first bad request (${bad})`);
  });
});

describe('lookup figures', () => {
  const figures: TokenFigures = {
    promptTokens: 812,
    evaluatedTokens: 3,
    reusedTokens: 809,
    generatedTokens: 40,
    tokensPerSecond: 23,
    ms: 900,
  };

  it('the tooltip line adds the acceptance rate only when tokens were drafted', () => {
    assert.equal(formatTokenFigures(figures), '812 prompt tokens, 3 evaluated (809 reused), 23 tok/s');
    assert.equal(
      formatTokenFigures({ ...figures, draftedTokens: 40, acceptedTokens: 12 }),
      '812 prompt tokens, 3 evaluated (809 reused), 23 tok/s, 12/40 drafts accepted (30%)',
    );
  });

  it('the prompt views say how many drafted tokens were accepted', () => {
    assert.equal(formatLookupFigures({ ...figures, draftedTokens: 40, acceptedTokens: 12 }), '12 of 40 drafted tokens accepted (30%)');
    assert.equal(formatLookupFigures(figures), 'no tokens drafted');
  });
});

describe('the lookup setting', () => {
  it('is on by default, off when set so, and a bad value keeps the default with a sentence', () => {
    assert.equal(normalizeSettings({}).settings.completion.lookup, true);
    assert.equal(normalizeSettings({ completion: { lookup: false } }).settings.completion.lookup, false);
    assert.equal(normalizeSettings({ 'completion.lookup': false }).settings.completion.lookup, false);
    const bad = normalizeSettings({ completion: { lookup: 'no' } });
    assert.equal(bad.settings.completion.lookup, true);
    assert.equal(bad.problems.length, 1);
    assert.match(bad.problems[0], /localLlm\.completion\.lookup/);
  });
});
