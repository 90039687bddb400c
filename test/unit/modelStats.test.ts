// The one stats object the status reads: sleeps and wakes counted from the gate's state changes,
// loads, crashes and the features' counters and figures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelStats } from '../../server/src/lifecycle/stats';
import type { TokenFigures } from '../../server/src/shared/protocol';

const figures = (promptTokens: number): TokenFigures => ({
  promptTokens,
  evaluatedTokens: promptTokens,
  reusedTokens: 0,
  generatedTokens: 3,
  ms: 10,
  tokensPerSecond: 300,
});

describe('ModelStats', () => {
  it('counts a sleep on entering it and a wake only when waking ends ready, timing the wake', () => {
    const stats = new ModelStats();
    stats.observe('sleeping', 0);
    assert.equal(stats.counters().sleeps, 0, 'starting asleep is no sleep');
    stats.observe('loading', 10);
    stats.observe('ready', 20);
    stats.observe('sleeping', 100);
    stats.observe('sleeping', 150);
    assert.equal(stats.counters().sleeps, 1, 'the same state twice is one sleep');
    assert.equal(stats.asleepSince, 100);
    stats.observe('waking', 200);
    assert.equal(stats.asleepSince, null);
    stats.observe('ready', 450);
    assert.deepEqual({ wakes: stats.counters().wakes, lastWakeMs: stats.counters().lastWakeMs }, { wakes: 1, lastWakeMs: 250 });
    stats.observe('waking', 500);
    stats.observe('error', 600);
    assert.equal(stats.counters().wakes, 1, 'a wake that failed is not counted');
  });

  it('records loads, crashes, what a sleep freed, and the features’ counters', () => {
    const stats = new ModelStats();
    stats.loaded(1200);
    stats.loaded(800);
    stats.engineCrashed();
    stats.slept({ rssBytes: 5, vramBytes: null });
    assert.deepEqual(stats.counters(), { loads: 2, sleeps: 0, wakes: 0, hostCrashes: 1, lastLoadMs: 800, lastWakeMs: null });
    assert.deepEqual(stats.lastSleepFreed, { rssBytes: 5, vramBytes: null });
    stats.completionRequested();
    stats.completionRequested();
    stats.cacheHit();
    stats.superseded();
    stats.generated();
    stats.prefetched();
    stats.yielded();
    stats.yielded();
    assert.deepEqual(stats.completions(), { requests: 2, generated: 1, cacheHits: 1, superseded: 1, prefetched: 1, yielded: 2 });
  });

  it('hands out copies: a reader cannot change the counters', () => {
    const stats = new ModelStats();
    const copy = stats.completions();
    copy.requests = 99;
    assert.equal(stats.completions().requests, 0);
  });

  it('keeps the last completion’s and chat turn’s figures, with the completion’s context chunks', () => {
    const stats = new ModelStats();
    const before = stats.lastCompletion;
    assert.equal(before, null);
    stats.completionRan(figures(40), 3);
    stats.chatRan(figures(90));
    assert.equal(stats.lastCompletion?.promptTokens, 40);
    assert.equal(stats.contextChunks, 3);
    assert.equal(stats.lastChat?.promptTokens, 90);
  });
});
