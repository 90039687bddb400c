// The shared host's idle watchdog on a fake clock: the model sleeps after the shortest idle time
// among the windows, activity starts the wait again, work in flight holds it, and with no window
// asking for sleep (or no model ready to sleep) nothing is ever due.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdleWatchdog } from '../../server/src/host/idleWatchdog';
import { FakeClock } from './fakeClock';

/** A watchdog over windows whose idle times the test sets; records when it fired and with which idle time. */
function watch(
  idleTimes: number[],
  start = 1000,
): { clock: FakeClock; dog: IdleWatchdog; fired: Array<{ at: number; idleMs: number }>; state: { armed: boolean } } {
  const clock = new FakeClock(start);
  const fired: Array<{ at: number; idleMs: number }> = [];
  const state = { armed: true };
  const dog = new IdleWatchdog({
    clock,
    idleTimes: () => idleTimes,
    armed: () => state.armed,
    onIdle: (idleMs) => fired.push({ at: clock.now(), idleMs }),
  });
  return { clock, dog, fired, state };
}

describe('IdleWatchdog', () => {
  it('fires after the shortest idle time among the windows, once', async () => {
    const { clock, dog, fired } = watch([300_000, 60_000, 0, 120_000]);
    dog.touch();
    assert.equal(dog.idleMs(), 60_000);
    assert.equal(dog.msLeft(), 60_000);
    await clock.advance(59_999);
    assert.equal(fired.length, 0);
    await clock.advance(1);
    assert.deepEqual(fired, [{ at: 61_000, idleMs: 60_000 }]);
    await clock.advance(600_000);
    assert.equal(fired.length, 1, 'it fires once, not again by itself');
  });

  it('starts the wait again on activity', async () => {
    const { clock, dog, fired } = watch([10_000]);
    dog.touch();
    await clock.advance(8000);
    dog.touch();
    assert.equal(dog.msLeft(), 10_000);
    await clock.advance(8000);
    assert.equal(fired.length, 0, 'activity 8 s ago: 2 s are left');
    assert.equal(dog.msLeft(), 2000);
    await clock.advance(2000);
    assert.deepEqual(
      fired.map((f) => f.at),
      [1000 + 8000 + 10_000],
    );
  });

  it('holds while work is in flight, and counts its end as activity', async () => {
    const { clock, dog, fired } = watch([5000]);
    dog.touch();
    await clock.advance(1000);
    dog.workStarted();
    dog.workStarted();
    assert.equal(clock.pending, 0, 'no timer runs while work is in flight');
    await clock.advance(60_000);
    assert.equal(fired.length, 0);
    assert.equal(dog.msLeft(), 5000, 'in flight, the whole idle time is left');
    dog.workEnded();
    await clock.advance(60_000);
    assert.equal(fired.length, 0, 'one of two generations still runs');
    dog.workEnded();
    const ended = clock.now();
    await clock.advance(4999);
    assert.equal(fired.length, 0);
    await clock.advance(1);
    assert.deepEqual(fired, [{ at: ended + 5000, idleMs: 5000 }]);
  });

  it('never sleeps when no window asks for sleep', async () => {
    const idleTimes: number[] = [0, -1];
    const { clock, dog, fired } = watch(idleTimes);
    dog.touch();
    assert.equal(dog.idleMs(), null);
    assert.equal(dog.msLeft(), null);
    assert.equal(clock.pending, 0);
    await clock.advance(24 * 3600_000);
    assert.equal(fired.length, 0);
    // A window that asks for sleep attaches: the wait counts from the last activity.
    idleTimes.push(30_000);
    dog.rearm();
    await clock.advance(0);
    assert.equal(fired.length, 1, 'the last activity was a day ago: the sleep is due at once');
  });

  it('follows a window that asks for a shorter idle time, and one that leaves', async () => {
    const idleTimes = [60_000];
    const { clock, dog, fired } = watch(idleTimes);
    dog.touch();
    await clock.advance(10_000);
    idleTimes.push(15_000);
    dog.rearm();
    await clock.advance(4999);
    assert.equal(fired.length, 0);
    await clock.advance(1);
    assert.deepEqual(fired, [{ at: 1000 + 15_000, idleMs: 15_000 }]);
    // The window with the short time leaves: the long one counts again.
    idleTimes.pop();
    dog.touch();
    await clock.advance(59_999);
    assert.equal(fired.length, 1);
    await clock.advance(1);
    assert.deepEqual(fired[1], { at: 1000 + 15_000 + 60_000, idleMs: 60_000 });
  });

  it('fires nothing while not armed, and stop() cancels the wait', async () => {
    const { clock, dog, fired, state } = watch([1000]);
    state.armed = false;
    dog.touch();
    assert.equal(dog.msLeft(), null);
    await clock.advance(10_000);
    assert.equal(fired.length, 0);
    state.armed = true;
    dog.touch();
    // Disarmed while the timer runs (a sleep began): the timer finds nothing to do.
    state.armed = false;
    await clock.advance(1000);
    assert.equal(fired.length, 0);
    state.armed = true;
    dog.touch();
    dog.stop();
    assert.equal(clock.pending, 0);
    await clock.advance(10_000);
    assert.equal(fired.length, 0);
  });
});
