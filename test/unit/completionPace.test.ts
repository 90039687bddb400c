// Whether completions are slow for this machine: the median of the last few and how many were capped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addPaceSample, judgePace, paceTuning, type PaceSample } from '../../server/src/lifecycle/completionPace';
import { ModelStats } from '../../server/src/lifecycle/stats';

const samples = (...ms: number[]): PaceSample[] => ms.map((m) => ({ ms: m, capped: false }));

describe('judgePace', () => {
  it('says nothing until a few completions ran', () => {
    assert.equal(judgePace([], 64), null);
    assert.equal(judgePace(samples(9000, 9000), 64), null);
  });

  it('is slow when the median passes 2 s, whatever one fast or slow outlier does', () => {
    assert.deepEqual(judgePace(samples(2500, 100, 2600), 64), { samples: 3, p50Ms: 2500, capped: 0, slow: true, maxTokens: 64 });
    const oneSlow = judgePace(samples(300, 9000, 400, 350), 32);
    assert.equal(oneSlow?.slow, false);
    assert.equal(oneSlow?.p50Ms, 375);
  });

  it('is slow when most were capped at completion.maxMs, even under 2 s', () => {
    const capped = (n: number, of: number): PaceSample[] => Array.from({ length: of }, (_, i) => ({ ms: 1500, capped: i < n }));
    assert.deepEqual(judgePace(capped(3, 5), 64), { samples: 5, p50Ms: 1500, capped: 3, slow: true, maxTokens: 64 });
    assert.equal(judgePace(capped(2, 4), 64)?.slow, false, 'half is not most');
  });

  it('judges only the most recent completions, so a faster model clears it', () => {
    const kept: PaceSample[] = [];
    for (let i = 0; i < paceTuning.window; i++) addPaceSample(kept, { ms: 5000, capped: true });
    assert.equal(judgePace(kept, 64)?.slow, true);
    for (let i = 0; i < paceTuning.window; i++) addPaceSample(kept, { ms: 200, capped: false });
    assert.equal(kept.length, paceTuning.window);
    assert.deepEqual(judgePace(kept, 64), { samples: paceTuning.window, p50Ms: 200, capped: 0, slow: false, maxTokens: 64 });
  });
});

describe('ModelStats completion times', () => {
  it('keeps the last few completions the user waited for, as copies', () => {
    const stats = new ModelStats();
    stats.completionTimed(2400, false);
    stats.completionTimed(1500, true);
    const seen = stats.recentCompletions;
    assert.deepEqual(seen, [
      { ms: 2400, capped: false },
      { ms: 1500, capped: true },
    ]);
    (seen as PaceSample[]).push({ ms: 1, capped: false });
    assert.equal(stats.recentCompletions.length, 2);
  });
});
