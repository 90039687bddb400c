// The completion debounce under scripted typing: time is a number the test moves, no timers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveDebounce, debounceBounds, debounceTuning } from '../../server/src/completion/adaptiveDebounce';

const setting = 150;

/** A keystroke after each of `gaps` (ms), from `from` on; returns the clock after the last. */
function type(debounce: AdaptiveDebounce, from: number, gaps: readonly number[]): number {
  let now = from;
  for (const gap of gaps) {
    now += gap;
    debounce.keystroke(now);
  }
  return now;
}

const steady = (gapMs: number, count: number): number[] => Array.from({ length: count }, () => gapMs);

describe('debounceBounds', () => {
  it('runs from half the setting to three times it, at most 1 s unless the setting is longer, and 0 stays 0', () => {
    assert.deepEqual(debounceBounds(150), { floorMs: 75, ceilingMs: 450 });
    assert.deepEqual(debounceBounds(500), { floorMs: 250, ceilingMs: 1000 });
    assert.deepEqual(debounceBounds(2000), { floorMs: 1000, ceilingMs: 2000 });
    assert.deepEqual(debounceBounds(0), { floorMs: 0, ceilingMs: 0 });
  });
});

describe('AdaptiveDebounce', () => {
  it('uses the setting as it is until it has seen a rhythm', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, [5000, 180]);
    assert.equal(debounce.typicalGapMs(), null);
    assert.equal(debounce.waitMs(setting, null), setting);
  });

  it('waits a little longer than the usual gap while the user types, so mid-word keys do not each start a generation', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, [5000, ...steady(200, 12)]);
    assert.equal(debounce.typicalGapMs(), 200);
    const wait = debounce.waitMs(setting, null);
    assert.ok(wait > 200, `the wait (${wait} ms) outlasts the usual gap, so the next key supersedes it`);
    assert.ok(wait > setting, `typing 200 ms apart lengthens the wait past the setting: ${wait} ms`);
  });

  it('keeps the setting for a typist faster than it: their keys supersede the wait as before', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, [5000, ...steady(50, 12)]);
    assert.equal(debounce.typicalGapMs(), 50);
    assert.equal(debounce.waitMs(setting, null), setting);
  });

  it('stops at the ceiling for a slow, steady typist', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, [5000, ...steady(900, 12)]);
    assert.equal(debounce.waitMs(setting, null), debounceBounds(setting).ceilingMs);
  });

  it('is quick on the first keystroke after a pause, and lengthens again once the user types on', () => {
    const debounce = new AdaptiveDebounce();
    let now = type(debounce, 0, [5000, ...steady(200, 12)]);
    const typing = debounce.waitMs(setting, null);
    now = type(debounce, now, [debounceTuning.pauseMs + 2000]);
    const afterPause = debounce.waitMs(setting, null);
    assert.ok(afterPause < setting, `after a pause the wait (${afterPause} ms) is under the setting`);
    assert.ok(afterPause < typing, `a pause shortens the wait: ${afterPause} ms < ${typing} ms`);
    // The pause itself is no part of the rhythm: typing on at the same pace waits as before.
    type(debounce, now, [200]);
    assert.equal(debounce.typicalGapMs(), 200);
    assert.equal(debounce.waitMs(setting, null), typing);
  });

  it('waits longer for a slow model, up to the ceiling', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, [5000, ...steady(150, 12)]);
    const fast = debounce.waitMs(setting, 100);
    const slow = debounce.waitMs(setting, 3000);
    assert.ok(slow > fast, `a slow model lengthens the wait: ${slow} ms > ${fast} ms`);
    assert.ok(debounce.waitMs(setting, 1000) > fast && debounce.waitMs(setting, 1000) < slow, 'and in proportion');
    // After a pause too, but it stays quick.
    type(debounce, 10_000, [0]);
    type(debounce, 20_000, [0]);
    assert.ok(debounce.waitMs(setting, 3000) > debounce.waitMs(setting, null));
    assert.ok(debounce.waitMs(setting, 3000) < setting);
  });

  it('never leaves its bounds under a scripted rhythm of bursts, pauses and slow models', () => {
    for (const base of [1, 50, 150, 400, 900, 2000]) {
      const { floorMs, ceilingMs } = debounceBounds(base);
      const debounce = new AdaptiveDebounce();
      let now = 0;
      let seed = 7;
      const random = (): number => {
        seed = (seed * 48271) % 2147483647;
        return seed / 2147483647;
      };
      const seen = new Set<number>();
      for (let i = 0; i < 400; i++) {
        // Mostly typing, sometimes a thinking pause; the model's latency wanders from instant to very slow.
        const gap = random() < 0.1 ? 1000 + random() * 10_000 : random() * 900;
        now = type(debounce, now, [gap]);
        const latency = random() < 0.2 ? null : random() * 6000;
        const wait = debounce.waitMs(base, latency);
        assert.ok(wait >= floorMs && wait <= ceilingMs, `setting ${base}: ${wait} ms within ${floorMs}..${ceilingMs}`);
        seen.add(wait);
      }
      if (base >= 50) assert.ok(seen.size > 3, `setting ${base}: the wait adapts (${seen.size} different waits)`);
    }
  });

  it('keeps a setting of 0 as no debounce at all, whatever the rhythm or the model', () => {
    const debounce = new AdaptiveDebounce();
    type(debounce, 0, steady(200, 12));
    assert.equal(debounce.waitMs(0, 5000), 0);
    type(debounce, 100_000, [0]);
    assert.equal(debounce.waitMs(0, null), 0);
  });
});
