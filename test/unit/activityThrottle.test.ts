import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ActivityThrottle } from '../../client/src/activity/throttle';
import type { Clock } from '../../server/src/shared/clock';

/** A clock that only moves when told to, firing due timers in order. */
class FakeClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advanceTo(time: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > time) break;
      this.timers.shift();
      this.time = due.at;
      due.fn();
    }
    this.time = time;
  }
  get pending(): number {
    return this.timers.length;
  }
}

function setup(interval = 3000) {
  const clock = new FakeClock();
  const sent: Array<{ at: number; value: string }> = [];
  const throttle = new ActivityThrottle<string>(interval, (value) => sent.push({ at: clock.now(), value }), clock);
  return { clock, sent, throttle };
}

describe('ActivityThrottle', () => {
  it('reports the first event at once', () => {
    const { sent, throttle } = setup();
    throttle.note('typing');
    assert.deepEqual(sent, [{ at: 0, value: 'typing' }]);
  });

  it('collapses a burst into one trailing report at the end of the interval, with the latest value', () => {
    const { clock, sent, throttle } = setup();
    throttle.note('typing');
    clock.advanceTo(500);
    throttle.note('cursor');
    clock.advanceTo(1500);
    throttle.note('editor');
    clock.advanceTo(2999);
    assert.equal(sent.length, 1);
    clock.advanceTo(3000);
    assert.deepEqual(sent, [
      { at: 0, value: 'typing' },
      { at: 3000, value: 'editor' },
    ]);
  });

  it('reports at once again after a quiet interval, with no timer left behind', () => {
    const { clock, sent, throttle } = setup();
    throttle.note('typing');
    clock.advanceTo(10_000);
    throttle.note('focus');
    assert.deepEqual(sent.at(-1), { at: 10_000, value: 'focus' });
    assert.equal(clock.pending, 0);
  });

  it('sends nothing after dispose', () => {
    const { clock, sent, throttle } = setup();
    throttle.note('typing');
    throttle.note('cursor');
    throttle.dispose();
    clock.advanceTo(10_000);
    throttle.note('typing');
    assert.equal(sent.length, 1);
    assert.equal(clock.pending, 0);
  });

  it('never reports twice within an interval, and never leaves the last event unreported', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 4000 }),
        (gaps, interval) => {
          const { clock, sent, throttle } = setup(interval);
          let lastEvent = 0;
          gaps.forEach((gap, i) => {
            clock.advanceTo(clock.now() + gap);
            lastEvent = clock.now();
            throttle.note(`e${i}`);
          });
          clock.advanceTo(lastEvent + interval);
          for (let i = 1; i < sent.length; i++)
            assert.ok(sent[i].at - sent[i - 1].at >= interval, `reports ${sent[i - 1].at} and ${sent[i].at}`);
          // The newest event is always delivered, no later than one interval after it happened.
          const last = sent.at(-1);
          assert.ok(last);
          assert.equal(last.value, `e${gaps.length - 1}`);
          assert.ok(last.at >= lastEvent && last.at <= lastEvent + interval);
        },
      ),
    );
  });
});
