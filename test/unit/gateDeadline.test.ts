// The gate never waits forever on one driver step: a load or unload that has not settled within
// the driver's bound fails in a sentence, the driver is told to abandon it, and the next request
// loads afresh. A driver with no bound is waited on as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GateUnavailableError, ResumeGate, type DriverCall, type GateDriver } from '../../server/src/lifecycle/gate';
import { FakeClock, settle } from './fakeClock';

/** Loads and unloads that hang until the test lets them go (or never), with an optional bound. */
class HangingDriver implements GateDriver {
  readonly calls: DriverCall[] = [];
  readonly abandoned: DriverCall[] = [];
  hang = true;
  private readonly held: Array<() => void> = [];

  constructor(private readonly bounds: Partial<Record<DriverCall, number | null>>) {}

  async load(): Promise<void> {
    this.calls.push('load');
    if (this.hang) await new Promise<void>((resolve) => this.held.push(resolve));
  }

  async unload(): Promise<void> {
    this.calls.push('unload');
    if (this.hang) await new Promise<void>((resolve) => this.held.push(resolve));
  }

  stepTimeoutMs(kind: DriverCall): number | null {
    return this.bounds[kind] ?? null;
  }

  abandon(kind: DriverCall): void {
    this.abandoned.push(kind);
  }

  /** Lets every held call settle, late. */
  releaseAll(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

const options = { idleMs: 0, wakeOnActivity: false };
const minute = 60_000;

describe('the gate bounds each driver step', () => {
  it('a load that never settles fails in a sentence at the bound; the next request loads afresh', { timeout: 10_000 }, async () => {
    const clock = new FakeClock();
    const driver = new HangingDriver({ load: 10 * minute });
    const gate = new ResumeGate(driver, clock, options);
    void gate.start(true);
    const request = gate.run('completion', async () => 'ran');
    const outcome = request.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await settle();
    assert.equal(gate.state, 'loading');
    await clock.advance(10 * minute - 1);
    assert.equal(gate.state, 'loading', 'not before the bound');
    await clock.advance(1);
    const error = await outcome;
    assert.ok(error instanceof GateUnavailableError, String(error));
    assert.equal(error.message, 'Loading the model did not finish within 10 minutes, so it was stopped.');
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, error.message);
    assert.deepEqual(driver.abandoned, ['load']);

    // The abandoned call settling late changes nothing; the next request loads again.
    driver.releaseAll();
    driver.hang = false;
    await settle();
    assert.equal(gate.state, 'error');
    assert.equal(await gate.run('chat', async () => 'ran'), 'ran');
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'load']);
    assert.equal(clock.pending, 0, 'no bound left armed');
  });

  it('an unload that never settles ends the sleep in a sentence, and a wake loads again', { timeout: 10_000 }, async () => {
    const clock = new FakeClock();
    const driver = new HangingDriver({ load: minute, unload: 90_000 });
    driver.hang = false;
    const lines: string[] = [];
    const gate = new ResumeGate(driver, clock, options, (line) => lines.push(line));
    await gate.start(true);
    assert.equal(gate.state, 'ready');
    driver.hang = true;
    const slept = gate.sleep();
    await settle();
    await clock.advance(90_000);
    await slept;
    // Sleep Now wins (#24): the model counts as gone, and the sentence goes to the log.
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(lines, ['Freeing the model did not finish within 90 s, so it was stopped. The model sleeps, as asked.']);
    assert.deepEqual(driver.abandoned, ['unload']);
    driver.hang = false;
    await gate.wake();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
  });

  it('without a bound the gate waits as long as the step takes', { timeout: 10_000 }, async () => {
    const clock = new FakeClock();
    const driver = new HangingDriver({ load: null });
    const gate = new ResumeGate(driver, clock, options);
    const started = gate.start(true);
    await settle();
    await clock.advance(24 * 60 * minute);
    assert.equal(gate.state, 'loading');
    assert.equal(clock.pending, 0, 'no timer was armed');
    driver.releaseAll();
    await started;
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.abandoned, []);
  });
});
