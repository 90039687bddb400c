// The gate's background work (a prefill of the context ring, the next suggestion): it runs only
// on a ready model, never wakes a sleeping one, never moves the idle deadline, and a sleep aborts
// it and waits for it before the model is freed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResumeGate, type GateDriver } from '../../server/src/lifecycle/gate';
import { FakeClock, settle } from './fakeClock';

class CountingDriver implements GateDriver {
  loads = 0;
  unloads = 0;
  /** Background fns running when an unload began. */
  violations = 0;
  backgroundRunning = 0;
  async load(): Promise<void> {
    this.loads++;
  }
  async unload(): Promise<void> {
    if (this.backgroundRunning > 0) this.violations++;
    this.unloads++;
  }
}

/** A background fn that runs until its signal aborts. */
function untilAborted(driver: CountingDriver): (signal: AbortSignal) => Promise<string> {
  return (signal) => {
    driver.backgroundRunning++;
    return new Promise<string>((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          // Stops at its next safe point, a little later.
          setImmediate(() => {
            driver.backgroundRunning--;
            resolve('stopped');
          });
        },
        { once: true },
      );
    });
  };
}

async function ready(idleMs = 10_000): Promise<{ gate: ResumeGate; clock: FakeClock; driver: CountingDriver }> {
  const clock = new FakeClock(1_000);
  const driver = new CountingDriver();
  const gate = new ResumeGate(driver, clock, { idleMs, wakeOnActivity: true });
  await gate.start(true);
  return { gate, clock, driver };
}

describe('ResumeGate background work', () => {
  it('does not run, and does not wake, while the model sleeps', async () => {
    const clock = new FakeClock(1_000);
    const driver = new CountingDriver();
    const gate = new ResumeGate(driver, clock, { idleMs: 10_000, wakeOnActivity: true });
    await gate.start(false);
    let ran = false;
    assert.equal(
      gate.runBackground(async () => (ran = true)),
      null,
    );
    await settle();
    assert.equal(ran, false);
    assert.equal(gate.state, 'sleeping');
    assert.equal(driver.loads, 0);
  });

  it('runs on a ready model without counting as in flight or moving the idle deadline', async () => {
    const { gate, clock } = await ready();
    await clock.advance(4_000);
    const left = gate.idleMsLeft();
    let release!: () => void;
    const work = gate.runBackground(() => new Promise<void>((resolve) => (release = resolve)));
    assert.ok(work);
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.idleMsLeft(), left);
    await clock.advance(1_000);
    release();
    await work;
    assert.equal(gate.idleMsLeft(), (left ?? 0) - 1_000);
  });

  it('is aborted by the idle sleep, which frees the model only after it stopped', async () => {
    const { gate, clock, driver } = await ready(5_000);
    const work = gate.runBackground(untilAborted(driver));
    assert.ok(work);
    await clock.advance(5_000);
    assert.equal(await work, 'stopped');
    await settle();
    assert.equal(gate.state, 'sleeping');
    assert.equal(driver.unloads, 1);
    assert.equal(driver.violations, 0);
  });

  it('is aborted by Sleep Now and by a crash', async () => {
    const { gate, driver } = await ready();
    const first = gate.runBackground(untilAborted(driver));
    const sleeping = gate.sleep();
    assert.equal(await first, 'stopped');
    await sleeping;
    assert.equal(driver.violations, 0);
    await gate.wake();
    const second = gate.runBackground(untilAborted(driver));
    gate.crashed('The model host crashed.');
    assert.equal(await second, 'stopped');
  });
});
