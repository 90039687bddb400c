import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GateCancelledError,
  GateUnavailableError,
  noSecondRestart,
  ResumeGate,
  restartSettleMs,
  type GateDriver,
  type GateOptions,
  type GateState,
} from '../../server/src/lifecycle/gate';
import { ModelLeftError } from '../../server/src/shared/errors';
import { FakeClock, settle } from './fakeClock';

/** A model manager stand-in that records calls, can hold them open and can fail them. */
class ManualDriver implements GateDriver {
  readonly calls: Array<'load' | 'unload'> = [];
  readonly violations: string[] = [];
  loaded = false;
  holdLoads = false;
  holdUnloads = false;
  /** Messages the next loads reject with, in order. */
  readonly loadFailures: string[] = [];
  readonly unloadFailures: string[] = [];
  /** Request fns running now, kept by the tests' fns. */
  running = 0;
  private busy: 'load' | 'unload' | null = null;
  private readonly held: Array<() => void> = [];

  async load(): Promise<void> {
    if (this.busy !== null) this.violations.push(`load while ${this.busy} runs`);
    if (this.loaded) this.violations.push('load while loaded');
    this.busy = 'load';
    this.calls.push('load');
    if (this.holdLoads) await new Promise<void>((resolve) => this.held.push(resolve));
    this.busy = null;
    const failure = this.loadFailures.shift();
    if (failure !== undefined) throw new Error(failure);
    this.loaded = true;
  }

  async unload(): Promise<void> {
    if (this.busy !== null) this.violations.push(`unload while ${this.busy} runs`);
    if (this.running > 0) this.violations.push('unload while a request runs');
    this.busy = 'unload';
    this.calls.push('unload');
    this.loaded = false;
    if (this.holdUnloads) await new Promise<void>((resolve) => this.held.push(resolve));
    this.busy = null;
    const failure = this.unloadFailures.shift();
    if (failure !== undefined) throw new Error(failure);
  }

  /** Lets the oldest held load or unload finish. */
  async finish(): Promise<void> {
    const next = this.held.shift();
    assert.ok(next, 'no driver call was held');
    next();
    await settle();
  }

  get holding(): number {
    return this.held.length;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Setup {
  clock: FakeClock;
  driver: ManualDriver;
  gate: ResumeGate;
  states: GateState[];
}

function setup(options: Partial<GateOptions> = {}): Setup {
  const clock = new FakeClock(1_000);
  const driver = new ManualDriver();
  const gate = new ResumeGate(driver, clock, { idleMs: 10_000, wakeOnActivity: true, ...options });
  // Each state the gate moves into, in order (not the in-flight-only changes).
  const states: GateState[] = [];
  let last = gate.state;
  gate.onDidChange(() => {
    if (gate.state !== last) states.push(gate.state);
    last = gate.state;
  });
  return { clock, driver, gate, states };
}

async function readyGate(options: Partial<GateOptions> = {}): Promise<Setup> {
  const s = setup(options);
  await s.gate.start(true);
  assert.equal(s.gate.state, 'ready');
  s.states.length = 0;
  return s;
}

async function sleepingGate(options: Partial<GateOptions> = {}): Promise<Setup> {
  const s = setup(options);
  await s.gate.start(false);
  assert.equal(s.gate.state, 'sleeping');
  s.states.length = 0;
  return s;
}

/** A request fn the test ends by hand; it notes whether the model was loaded when it started
 * and ends with the abort reason when its signal aborts. */
class Job {
  started = false;
  loadedAtStart: boolean | null = null;
  signal: AbortSignal | null = null;
  private readonly done = deferred<string>();

  constructor(
    private readonly driver: ManualDriver,
    private readonly honourAbort = true,
  ) {}

  readonly fn = (signal: AbortSignal): Promise<string> => {
    this.started = true;
    this.signal = signal;
    this.loadedAtStart = this.driver.loaded;
    this.driver.running++;
    if (this.honourAbort) {
      signal.addEventListener('abort', () => this.done.reject(signal.reason), { once: true });
    }
    return this.done.promise.finally(() => this.driver.running--);
  };

  async end(value = 'done'): Promise<void> {
    this.done.resolve(value);
    await settle();
  }
}

/** One completion through the gate: it must find the model loaded, and then finish. */
async function runsWithModelLoaded(gate: ResumeGate, driver: ManualDriver): Promise<void> {
  const job = new Job(driver);
  const result = gate.run('completion', job.fn);
  await settle();
  assert.equal(job.loadedAtStart, true);
  await job.end();
  await result;
}

/** Records how a promise ended without letting a rejection go unhandled. */
function track<T>(promise: Promise<T>): { outcome: () => 'pending' | 'resolved' | unknown } {
  let outcome: 'pending' | 'resolved' | unknown = 'pending';
  promise.then(
    () => (outcome = 'resolved'),
    (error: unknown) => (outcome = error),
  );
  return { outcome: () => outcome };
}

describe('ResumeGate start', () => {
  it('loads on start when asked: loading -> ready', async () => {
    const { gate, driver, states } = setup();
    assert.equal(gate.state, 'loading');
    const started = gate.start(true);
    assert.equal(gate.state, 'loading');
    await started;
    assert.deepEqual(states, ['ready']);
    assert.deepEqual(driver.calls, ['load']);
    assert.equal(gate.error, null);
  });

  it('starts asleep with nothing loaded when not asked to load', async () => {
    const { gate, driver } = setup();
    await gate.start(false);
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, []);
  });

  it('puts a failed start into error with the sentence, and the next request retries', async () => {
    const { gate, driver } = setup();
    driver.loadFailures.push('The model file /x.gguf does not exist.');
    await gate.start(true);
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, 'The model file /x.gguf does not exist.');
    const job = new Job(driver);
    const result = gate.run('completion', job.fn);
    await settle();
    assert.equal(job.loadedAtStart, true);
    assert.equal(gate.state, 'ready');
    assert.equal(gate.error, null);
    await job.end('text');
    assert.equal(await result, 'text');
    assert.deepEqual(driver.calls, ['load', 'load']);
  });

  it('lets requests that arrive before start wait for it', async () => {
    const { gate, driver } = setup();
    const job = new Job(driver);
    const result = track(gate.run('chat', job.fn));
    await settle();
    assert.equal(job.started, false);
    assert.deepEqual(driver.calls, []);
    await gate.start(true);
    await settle();
    assert.equal(job.loadedAtStart, true);
    await job.end();
    assert.equal(result.outcome(), 'resolved');
  });

  it('rejects an idle time that is not 0 or more milliseconds with a sentence', () => {
    const clock = new FakeClock();
    const driver = new ManualDriver();
    assert.throws(() => new ResumeGate(driver, clock, { idleMs: -1, wakeOnActivity: true }), /idle time must be 0 or more/);
    const gate = new ResumeGate(driver, clock, { idleMs: 5, wakeOnActivity: true });
    assert.throws(() => gate.configure({ idleMs: Number.NaN }), RangeError);
  });
});

describe('ResumeGate wake', () => {
  it('wakes once for many requests: one load, all wait on it, then all run', async () => {
    const { gate, driver, states } = await sleepingGate();
    driver.holdLoads = true;
    const jobs = [new Job(driver), new Job(driver), new Job(driver), new Job(driver)];
    const results = jobs.map((job, i) => gate.run(i % 2 === 0 ? 'completion' : 'chat', job.fn));
    const woken = gate.wake();
    await settle();
    assert.equal(gate.state, 'waking');
    assert.equal(gate.waiting, 4);
    assert.deepEqual(driver.calls, ['load']);
    assert.ok(jobs.every((job) => !job.started));
    await driver.finish();
    await woken;
    assert.deepEqual(states, ['waking', 'ready']);
    assert.ok(jobs.every((job) => job.loadedAtStart === true));
    assert.equal(gate.inFlight, 4);
    for (const job of jobs) await job.end();
    assert.deepEqual(await Promise.all(results), ['done', 'done', 'done', 'done']);
    assert.deepEqual(driver.calls, ['load']);
    assert.deepEqual(driver.violations, []);
  });

  it('rejects every waiter with the sentence when the wake fails, and retries on the next request', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    driver.loadFailures.push('There is not enough memory to load the model.');
    const a = track(gate.run('completion', new Job(driver).fn));
    const b = track(gate.run('chat', new Job(driver).fn));
    await settle();
    await driver.finish();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, 'There is not enough memory to load the model.');
    for (const outcome of [a.outcome(), b.outcome()]) {
      assert.ok(outcome instanceof GateUnavailableError);
      assert.equal(outcome.message, 'There is not enough memory to load the model.');
    }
    assert.equal(gate.waiting, 0);
    driver.holdLoads = false;
    await runsWithModelLoaded(gate, driver);
    assert.deepEqual(driver.calls, ['load', 'load']);
  });

  it('lets a cancelled waiter leave at once while the wake goes on for the others', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const cancel = new AbortController();
    const leaving = new Job(driver);
    const staying = new Job(driver);
    const left = track(gate.run('completion', leaving.fn, cancel.signal));
    const stays = gate.run('completion', staying.fn);
    await settle();
    cancel.abort();
    await settle();
    assert.ok(left.outcome() instanceof GateCancelledError);
    assert.equal(gate.waiting, 1);
    assert.equal(gate.state, 'waking');
    await driver.finish();
    assert.equal(leaving.started, false);
    assert.equal(staying.loadedAtStart, true);
    await staying.end();
    await stays;
    assert.deepEqual(driver.calls, ['load']);
  });

  it('goes on with the wake even when every waiter cancels', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const cancel = new AbortController();
    const only = track(gate.run('chat', new Job(driver).fn, cancel.signal));
    await settle();
    cancel.abort();
    await settle();
    assert.ok(only.outcome() instanceof GateCancelledError);
    await driver.finish();
    assert.equal(gate.state, 'ready');
  });

  it('rejects a request whose signal already aborted without waking anything', async () => {
    const { gate, driver } = await sleepingGate();
    const cancel = new AbortController();
    cancel.abort();
    await assert.rejects(gate.run('completion', new Job(driver).fn, cancel.signal), GateCancelledError);
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, []);
  });

  it('wake() joins a wake on its way, is a no-op when ready, and never rejects', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const first = gate.wake();
    const second = gate.wake();
    assert.equal(first, second);
    await settle();
    await driver.finish();
    await first;
    assert.equal(gate.state, 'ready');
    await gate.wake();
    assert.deepEqual(driver.calls, ['load']);
    await gate.sleep();
    driver.holdLoads = false;
    driver.loadFailures.push('The GPU backend is not available.');
    await gate.wake();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, 'The GPU backend is not available.');
    await gate.wake();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load', 'load']);
  });
});

describe('ResumeGate running requests', () => {
  it('aborts the fn when the caller aborts while it runs, and counts it in flight until it ends', async () => {
    const { gate, driver } = await readyGate();
    const cancel = new AbortController();
    const job = new Job(driver);
    const result = track(gate.run('chat', job.fn, cancel.signal));
    assert.equal(gate.inFlight, 1);
    assert.equal(job.signal?.aborted, false);
    cancel.abort(new Error('user pressed stop'));
    await settle();
    assert.equal(job.signal?.aborted, true);
    assert.equal((result.outcome() as Error).message, 'user pressed stop');
    assert.equal(gate.inFlight, 0);
  });

  it('passes a fn that throws at once on as a rejection and keeps counting right', async () => {
    const { gate } = await readyGate();
    await assert.rejects(
      gate.run('completion', () => {
        throw new Error('bad prompt');
      }),
      /bad prompt/,
    );
    assert.equal(gate.inFlight, 0);
  });

  it('tells listeners about every state and in-flight change, until unsubscribed', async () => {
    const { gate, driver } = await readyGate();
    const seen: Array<[GateState, number]> = [];
    const unsubscribe = gate.onDidChange(() => seen.push([gate.state, gate.inFlight]));
    const job = new Job(driver);
    const result = gate.run('completion', job.fn);
    await job.end();
    await result;
    await gate.sleep();
    assert.deepEqual(seen, [
      ['ready', 1],
      ['ready', 0],
      ['sleeping', 0],
    ]);
    unsubscribe();
    await gate.wake();
    assert.equal(seen.length, 3);
  });
});

describe('ResumeGate idle watchdog', () => {
  it('sleeps after idleMs with nothing in flight and no activity', async () => {
    const { gate, driver, clock, states } = await readyGate({ idleMs: 10_000 });
    await clock.advance(9_999);
    assert.equal(gate.state, 'ready');
    assert.equal(gate.idleMsLeft(), 1);
    await clock.advance(1);
    assert.deepEqual(states, ['sleeping']);
    assert.deepEqual(driver.calls, ['load', 'unload']);
    assert.equal(gate.idleMsLeft(), null);
  });

  it('counts idleness again from each activity', async () => {
    const { gate, clock } = await readyGate({ idleMs: 10_000 });
    await clock.advance(6_000);
    gate.activity();
    assert.equal(gate.idleMsLeft(), 10_000);
    await clock.advance(9_000);
    assert.equal(gate.state, 'ready');
    await clock.advance(1_000);
    assert.equal(gate.state, 'sleeping');
  });

  it('never sleeps while a request runs, and counts idleness from when it ended', async () => {
    const { gate, driver, clock } = await readyGate({ idleMs: 10_000 });
    const job = new Job(driver);
    const result = gate.run('chat', job.fn);
    await clock.advance(50_000);
    assert.equal(gate.state, 'ready');
    assert.equal(gate.idleMsLeft(), 10_000);
    await job.end();
    await result;
    await clock.advance(9_999);
    assert.equal(gate.state, 'ready');
    await clock.advance(1);
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.violations, []);
  });

  it('never sleeps when idleMs is 0', async () => {
    const { gate, clock } = await readyGate({ idleMs: 0 });
    assert.equal(clock.pending, 0);
    await clock.advance(10_000_000);
    assert.equal(gate.state, 'ready');
    assert.equal(gate.idleMsLeft(), null);
  });

  it('applies a new idle time at once, counted from the change', async () => {
    const { gate, clock } = await readyGate({ idleMs: 0 });
    await clock.advance(100_000);
    gate.configure({ idleMs: 2_000 });
    assert.equal(gate.idleMsLeft(), 2_000);
    await clock.advance(1_999);
    assert.equal(gate.state, 'ready');
    gate.configure({ idleMs: 0 });
    await clock.advance(100_000);
    assert.equal(gate.state, 'ready');
    gate.configure({ idleMs: 500 });
    await clock.advance(500);
    assert.equal(gate.state, 'sleeping');
  });

  it('exempt calls neither change the state nor reset the timer', async () => {
    const { gate, clock, driver } = await readyGate({ idleMs: 10_000 });
    await clock.advance(4_000);
    const before = gate.snapshot();
    const due = clock.nextDue();
    for (let i = 0; i < 3; i++) {
      gate.snapshot();
      gate.idleMsLeft();
      void gate.state;
      void gate.error;
      void gate.inFlight;
      void gate.waiting;
    }
    assert.deepEqual(gate.snapshot(), before);
    assert.equal(clock.nextDue(), due);
    assert.deepEqual(before, { state: 'ready', error: null, inFlight: 0, waiting: 0, idleMsLeft: 6_000 });
    await clock.advance(6_000);
    assert.equal(gate.state, 'sleeping');
    // Asleep, exempt calls wake nothing.
    gate.snapshot();
    gate.idleMsLeft();
    await settle();
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, ['load', 'unload']);
  });
});

describe('ResumeGate activity', () => {
  it('wakes a sleeping model when wakeOnActivity is on', async () => {
    const { gate, driver } = await sleepingGate({ wakeOnActivity: true });
    gate.activity();
    assert.equal(gate.state, 'waking');
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load']);
  });

  it('does not wake a sleeping model when wakeOnActivity is off', async () => {
    const { gate, driver } = await sleepingGate({ wakeOnActivity: false });
    gate.activity();
    await settle();
    assert.equal(gate.state, 'sleeping');
    gate.configure({ wakeOnActivity: true });
    gate.activity();
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load']);
  });

  it('does not retry a failed load on activity, but does after a crash', async () => {
    const { gate, driver } = await sleepingGate();
    driver.loadFailures.push('The file is not a GGUF model.');
    gate.activity();
    await settle();
    assert.equal(gate.state, 'error');
    gate.activity();
    await settle();
    assert.equal(gate.state, 'error');
    assert.deepEqual(driver.calls, ['load']);
    await gate.wake();
    assert.equal(gate.state, 'ready');
    gate.crashed('The model host stopped (signal SIGSEGV).');
    assert.equal(gate.state, 'error');
    gate.activity();
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'load', 'load']);
  });

  it('only joins: activity during a wake starts no second load', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    gate.activity();
    gate.activity();
    await settle();
    gate.activity();
    assert.deepEqual(driver.calls, ['load']);
    await driver.finish();
    assert.equal(gate.state, 'ready');
  });
});

describe('ResumeGate sleep()', () => {
  it('aborts running completions, waits for a running chat, then unloads', async () => {
    const { gate, driver, states } = await readyGate();
    const completion = new Job(driver);
    const chat = new Job(driver);
    const completionResult = track(gate.run('completion', completion.fn));
    const chatResult = track(gate.run('chat', chat.fn));
    const slept = track(gate.sleep());
    await settle();
    assert.equal(completion.signal?.aborted, true);
    assert.ok(completionResult.outcome() instanceof GateCancelledError);
    assert.equal(chat.signal?.aborted, false);
    assert.equal(slept.outcome(), 'pending');
    assert.deepEqual(driver.calls, ['load']);
    assert.equal(gate.state, 'ready');
    await chat.end('answer');
    assert.equal(chatResult.outcome(), 'resolved');
    assert.equal(slept.outcome(), 'resolved');
    assert.deepEqual(states, ['sleeping']);
    assert.deepEqual(driver.calls, ['load', 'unload']);
    assert.deepEqual(driver.violations, []);
  });

  it('makes a request that arrives during the drain wait, then wakes after the sleep', async () => {
    const { gate, driver, states } = await readyGate();
    const chat = new Job(driver);
    const chatResult = gate.run('chat', chat.fn);
    const slept = gate.sleep();
    const late = new Job(driver);
    const lateResult = gate.run('completion', late.fn);
    await settle();
    assert.equal(late.started, false);
    assert.equal(gate.waiting, 1);
    await chat.end();
    await chatResult;
    await slept;
    await settle();
    assert.equal(late.loadedAtStart, true);
    await late.end();
    await lateResult;
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(states, ['sleeping', 'waking', 'ready']);
  });

  it('never loads while the unload still runs', async () => {
    const { gate, driver } = await readyGate();
    driver.holdUnloads = true;
    const slept = gate.sleep();
    await settle();
    assert.equal(gate.state, 'sleeping');
    const job = new Job(driver);
    const result = gate.run('completion', job.fn);
    const woken = gate.wake();
    gate.activity();
    await settle();
    assert.deepEqual(driver.calls, ['load', 'unload']);
    assert.equal(job.started, false);
    await driver.finish();
    await slept;
    await woken;
    assert.equal(job.loadedAtStart, true);
    await job.end();
    await result;
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(driver.violations, []);
  });

  it('puts a failed unload of an idle sleep into error, and the next request loads again', async () => {
    const { gate, driver, clock } = await readyGate();
    driver.unloadFailures.push('The model host did not stop in time.');
    await clock.advance(10_001);
    await settle();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, 'The model host did not stop in time.');
    await runsWithModelLoaded(gate, driver);
  });

  it('drops a sleep that a later wake undoes before it ran: the last intent wins', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const woken = gate.wake();
    const slept = gate.sleep();
    const wokenAgain = gate.wake();
    await settle();
    await driver.finish();
    await Promise.all([woken, slept, wokenAgain]);
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load']);
    assert.deepEqual(driver.violations, []);
  });

  it('collapses 200 alternating sleep and wake calls into their final intent', async () => {
    const { gate, driver } = await readyGate();
    driver.holdLoads = true;
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) calls.push(gate.sleep(), gate.wake());
    await settle();
    await driver.finish();
    await Promise.all(calls);
    assert.equal(gate.state, 'ready');
    // The first sleep had started before the rest arrived; everything after it folds into one wake.
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(driver.violations, []);
  });
});

describe('ResumeGate followReady(): the shared host is ready', () => {
  it('wakes a sleeping gate, as another window woke the shared model', async () => {
    const { gate, driver, states } = await sleepingGate();
    await gate.followReady();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(states, ['waking', 'ready']);
    assert.deepEqual(driver.calls, ['load']);
  });

  it('leaves a Sleep Now asked during the wake standing when its own load announces ready', async () => {
    const { gate, driver, states } = await sleepingGate();
    driver.holdLoads = true;
    const woken = gate.wake();
    await settle();
    const slept = gate.sleep();
    // The host says ready for the load this window asked for, while the Sleep Now waits behind it.
    const followed = gate.followReady();
    await driver.finish();
    await Promise.all([woken, slept, followed]);
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(states, ['waking', 'ready', 'sleeping']);
    assert.deepEqual(driver.calls, ['load', 'unload']);
    assert.deepEqual(driver.violations, []);
  });

  it('lets a ready host void a sleep it announced while this window loaded: that sleep was of the host before', async () => {
    const { gate, driver, states } = await sleepingGate();
    driver.holdLoads = true;
    const woken = gate.wake();
    await settle();
    const followed = gate.followSleep(true);
    const ready = gate.followReady();
    await driver.finish();
    await Promise.all([woken, followed, ready]);
    assert.equal(gate.state, 'ready');
    assert.deepEqual(states, ['waking', 'ready']);
    assert.deepEqual(driver.calls, ['load']);
  });

  it('ends a reload onto a new host ready: the old host’s sleep, announced during it, is voided', async () => {
    const { gate, driver } = await readyGate();
    driver.holdLoads = true;
    const reloaded = gate.reload();
    await settle();
    // Another model means another shared host: the old one announces its sleep, the new one ready.
    const followed = gate.followSleep(false);
    const ready = gate.followReady();
    await driver.finish();
    await Promise.all([reloaded, followed, ready]);
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
  });

  it('leaves a Sleep Now asked during a reload standing', async () => {
    const { gate, driver } = await readyGate();
    driver.holdLoads = true;
    const reloaded = gate.reload();
    await settle();
    const slept = gate.sleep();
    const followed = gate.followReady();
    await driver.finish();
    await Promise.all([reloaded, slept, followed]);
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load', 'unload']);
    assert.deepEqual(driver.violations, []);
  });
});

describe('ResumeGate reload()', () => {
  it('drains, unloads and loads again in state loading', async () => {
    const { gate, driver, states } = await readyGate();
    const completion = new Job(driver);
    const chat = new Job(driver);
    const completionResult = track(gate.run('completion', completion.fn));
    const chatResult = gate.run('chat', chat.fn);
    const reloaded = gate.reload();
    await settle();
    assert.ok(completionResult.outcome() instanceof GateCancelledError);
    assert.deepEqual(driver.calls, ['load']);
    await chat.end();
    await chatResult;
    await reloaded;
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(states, ['loading', 'ready']);
    assert.deepEqual(driver.violations, []);
  });

  it('leaves a sleeping model asleep, and loads a model in error', async () => {
    const { gate, driver } = await sleepingGate();
    await gate.reload();
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, []);
    driver.loadFailures.push('The model file is missing.');
    await gate.wake();
    assert.equal(gate.state, 'error');
    await gate.reload();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'load']);
  });

  it('reloads again when settings change while a reload is already loading', async () => {
    const { gate, driver } = await readyGate();
    driver.holdLoads = true;
    const first = gate.reload();
    await settle();
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    const second = gate.reload();
    const third = gate.reload();
    assert.equal(second, third);
    await driver.finish();
    await first;
    await driver.finish();
    await second;
    assert.deepEqual(driver.calls, ['load', 'unload', 'load', 'unload', 'load']);
    assert.equal(gate.state, 'ready');
  });
});

describe('ResumeGate after Sleep Now', () => {
  it('wakes on typing only, not on cursor moves, editor switches or window focus', async () => {
    const { gate, driver } = await readyGate();
    await gate.sleep();
    assert.equal(gate.state, 'sleeping');
    for (const kind of ['focus', 'cursor', 'editor'] as const) gate.activity(kind);
    await settle();
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, ['load', 'unload']);
    gate.activity('typing');
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
  });

  it('forgets the rule once awake: after an idle sleep any activity wakes it again', async () => {
    const { gate, driver, clock } = await readyGate();
    await gate.sleep();
    await gate.wake();
    assert.equal(gate.state, 'ready');
    await clock.advance(10_001);
    await settle();
    assert.equal(gate.state, 'sleeping');
    gate.activity('focus');
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load', 'unload', 'load']);
  });
  it('a sleep the shared host decided (byUser false) wakes on any activity, like an idle sleep', async () => {
    const { gate, driver } = await readyGate();
    await gate.followSleep(false);
    assert.equal(gate.state, 'sleeping');
    gate.activity('focus');
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
  });
});

describe('ResumeGate crashed()', () => {
  it('goes to error with the sentence, aborts running requests, and the next request reloads', async () => {
    const { gate, driver, clock } = await readyGate();
    const chat = new Job(driver);
    const chatResult = track(gate.run('chat', chat.fn));
    driver.loaded = false;
    gate.crashed('The model host stopped unexpectedly (exit code 134).');
    await settle();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, 'The model host stopped unexpectedly (exit code 134).');
    assert.equal(chat.signal?.aborted, true);
    assert.ok(chatResult.outcome() instanceof GateUnavailableError);
    assert.equal(clock.pending, 0);
    await runsWithModelLoaded(gate, driver);
    assert.deepEqual(driver.calls, ['load', 'load']);
  });

  it('never reports ready when a crash came in while a load ran', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const waiting = track(gate.run('completion', new Job(driver).fn));
    await settle();
    gate.crashed('The model host stopped unexpectedly.');
    assert.equal(gate.state, 'waking');
    await driver.finish();
    assert.equal(gate.state, 'error');
    assert.ok(waiting.outcome() instanceof GateUnavailableError);
  });

  it('keeps a sleep asked for during the drain from unloading a model that is gone', async () => {
    const { gate, driver } = await readyGate();
    const chat = new Job(driver, false);
    const chatResult = track(gate.run('chat', chat.fn));
    const slept = gate.sleep();
    driver.loaded = false;
    gate.crashed('Crashed.');
    await chat.end();
    await slept;
    assert.equal(chatResult.outcome(), 'resolved');
    // Sleep Now wins over the crash (#24): the model is gone, as asked.
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, ['load']);
  });
});

describe('ResumeGate crashed() with restart', () => {
  const restart = { restart: true };

  it('loads again at once, without a request: loading -> ready, never error', async () => {
    const { gate, driver, states } = await readyGate();
    const chat = new Job(driver);
    const chatResult = track(gate.run('chat', chat.fn));
    driver.loaded = false;
    gate.crashed('The model host was killed.', restart);
    assert.equal(gate.state, 'loading');
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(states, ['loading', 'ready']);
    assert.deepEqual(driver.calls, ['load', 'load']);
    assert.ok(chatResult.outcome() instanceof GateUnavailableError, 'the request on the crashed host fails');
    await runsWithModelLoaded(gate, driver);
  });

  it('does not restart a second crash before the restarted model served a request: error, and the next request retries', async () => {
    const { gate, driver, clock } = await readyGate({ idleMs: 0 });
    driver.loaded = false;
    gate.crashed('The model host was killed.', restart);
    await settle();
    assert.equal(gate.state, 'ready');
    await clock.advance(restartSettleMs * 2);
    driver.loaded = false;
    gate.crashed('The model host was killed.', restart);
    await settle();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, `The model host was killed. ${noSecondRestart}`);
    assert.deepEqual(driver.calls, ['load', 'load']);
    await runsWithModelLoaded(gate, driver);
    assert.deepEqual(driver.calls, ['load', 'load', 'load']);
  });

  it('does not restart a second crash within restartSettleMs, even after a request', async () => {
    const { gate, driver, clock } = await readyGate({ idleMs: 0 });
    driver.loaded = false;
    gate.crashed('Killed.', restart);
    await settle();
    await runsWithModelLoaded(gate, driver);
    await clock.advance(restartSettleMs - 1);
    driver.loaded = false;
    gate.crashed('Killed.', restart);
    await settle();
    assert.equal(gate.state, 'error');
    assert.deepEqual(driver.calls, ['load', 'load']);
    // Activity retries a crash, as before.
    gate.activity();
    await settle();
    assert.equal(gate.state, 'ready');
  });

  it('restarts again once the restarted model served a request and stayed up restartSettleMs', async () => {
    const { gate, driver, clock } = await readyGate({ idleMs: 0 });
    driver.loaded = false;
    gate.crashed('Killed.', restart);
    await settle();
    await runsWithModelLoaded(gate, driver);
    await clock.advance(restartSettleMs);
    driver.loaded = false;
    gate.crashed('Killed.', restart);
    await settle();
    assert.equal(gate.state, 'ready');
    assert.deepEqual(driver.calls, ['load', 'load', 'load']);
  });

  it('without restart (a hung host we killed) stays in error as before', async () => {
    const { gate, driver } = await readyGate();
    driver.loaded = false;
    gate.crashed('The model host did not answer a completion within 60 s, so it was stopped; the next request starts a new one.');
    await settle();
    assert.equal(gate.state, 'error');
    assert.deepEqual(driver.calls, ['load']);
  });

  it('a crash during a Sleep Now drain is not restarted: the user wanted the model gone', async () => {
    const { gate, driver } = await readyGate();
    const chat = new Job(driver, false);
    track(gate.run('chat', chat.fn));
    const slept = gate.sleep();
    driver.loaded = false;
    gate.crashed('Crashed.', restart);
    await chat.end();
    await slept;
    assert.equal(gate.state, 'sleeping');
    assert.deepEqual(driver.calls, ['load']);
  });

  it('a crash during a load retries that load once, and the request that waited on it runs', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const job = new Job(driver);
    const waiting = track(gate.run('completion', job.fn));
    await settle();
    assert.equal(gate.state, 'waking');
    gate.crashed('The model host was killed.', restart);
    driver.loadFailures.push('The model host was killed.');
    await driver.finish();
    assert.equal(gate.state, 'waking', 'still waking: the load runs again');
    assert.deepEqual(driver.calls, ['load', 'load']);
    await driver.finish();
    assert.equal(gate.state, 'ready');
    assert.equal(job.loadedAtStart, true);
    await job.end();
    assert.equal(waiting.outcome(), 'resolved');
  });

  it('a second crash during the retried load ends in error, and the waiting request fails with the sentence', async () => {
    const { gate, driver } = await sleepingGate();
    driver.holdLoads = true;
    const waiting = track(gate.run('completion', new Job(driver).fn));
    await settle();
    gate.crashed('Killed.', restart);
    driver.loadFailures.push('Killed.');
    await driver.finish();
    gate.crashed('Killed again.', restart);
    driver.loadFailures.push('Killed again.');
    await driver.finish();
    assert.equal(gate.state, 'error');
    assert.equal(gate.error, `Killed again. ${noSecondRestart}`);
    assert.deepEqual(driver.calls, ['load', 'load']);
    assert.ok(waiting.outcome() instanceof GateUnavailableError);
  });
});

describe('ResumeGate dispose()', () => {
  it('rejects waiting requests, clears the timer, and refuses new requests', async () => {
    const { gate, driver, clock } = await sleepingGate();
    driver.holdLoads = true;
    const waiting = track(gate.run('chat', new Job(driver).fn));
    await settle();
    gate.dispose();
    await settle();
    assert.ok(waiting.outcome() instanceof GateUnavailableError);
    await driver.finish();
    assert.equal(clock.pending, 0);
    await assert.rejects(gate.run('chat', new Job(driver).fn), GateUnavailableError);
  });

  it('leaves no idle timer behind when disposed while ready', async () => {
    const { gate, clock } = await readyGate({ idleMs: 1_000 });
    assert.equal(clock.pending, 1);
    gate.dispose();
    assert.equal(clock.pending, 0);
  });
});

describe('ResumeGate and a model that left under a request', () => {
  /** A fn that fails with `error` on its first call (the host was leaving) and answers 'answer' after, noting whether the model was loaded each time. */
  function leavesOnce(driver: ManualDriver, error: Error): { fn: (signal: AbortSignal) => Promise<string>; loadedAt: boolean[] } {
    const loadedAt: boolean[] = [];
    return {
      loadedAt,
      fn: async () => {
        loadedAt.push(driver.loaded);
        if (loadedAt.length === 1) throw error;
        return 'answer';
      },
    };
  }

  it('runs the request again after the sleep it came too late for, on the woken model', async () => {
    const { gate, driver, states } = await readyGate();
    const refusal = deferred<string>();
    const loadedAt: boolean[] = [];
    const result = track(
      gate.run('chat', () => {
        loadedAt.push(driver.loaded);
        return loadedAt.length === 1 ? refusal.promise : Promise.resolve('answer');
      }),
    );
    await settle();
    // The sleep the shared host announced is followed first (it waits for the chat), then the host's refusal arrives.
    const slept = gate.followSleep(false);
    await settle();
    assert.deepEqual(driver.calls, ['load'], 'the sleep waits for the running chat');
    refusal.reject(new ModelLeftError('The model host was going to sleep.'));
    await slept;
    await settle();
    assert.equal(result.outcome(), 'resolved');
    assert.deepEqual(loadedAt, [true, true], 'the second run found the model loaded again');
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(states, ['sleeping', 'waking', 'ready']);
    assert.deepEqual(driver.violations, []);
  });

  it('runs it again once only: a second refusal is the caller’s error', async () => {
    const { gate, driver } = await readyGate();
    let calls = 0;
    const refused = new ModelLeftError('The model host was going to sleep.');
    const result = gate.run('chat', () => {
      calls++;
      return Promise.reject(refused);
    });
    await assert.rejects(result, (e: unknown) => e === refused);
    assert.equal(calls, 2);
    assert.deepEqual(driver.violations, []);
  });

  it('does not run a request again for any other failure', async () => {
    const { gate, driver } = await readyGate();
    const chat = leavesOnce(driver, new Error('The model host failed: out of memory.'));
    await assert.rejects(gate.run('chat', chat.fn), /out of memory/);
    assert.equal(chat.loadedAt.length, 1);
  });
});

describe('ResumeGate: Sleep Now wins over a host that fails on the way (#24)', () => {
  async function loggingGate(): Promise<Setup & { lines: string[] }> {
    const clock = new FakeClock(1_000);
    const driver = new ManualDriver();
    const lines: string[] = [];
    const gate = new ResumeGate(driver, clock, { idleMs: 10_000, wakeOnActivity: true }, (line) => lines.push(line));
    const states: GateState[] = [];
    gate.onDidChange(() => {
      if (states[states.length - 1] !== gate.state) states.push(gate.state);
    });
    await gate.start(true);
    assert.equal(gate.state, 'ready');
    states.length = 0;
    return { clock, driver, gate, states, lines };
  }

  /** After Sleep Now only typing wakes the model; focus, cursor and editor switches do not. */
  async function onlyTypingWakes(gate: ResumeGate, driver: ManualDriver): Promise<void> {
    const calls = driver.calls.length;
    for (const kind of ['focus', 'cursor', 'editor'] as const) gate.activity(kind);
    await settle();
    assert.equal(gate.state, 'sleeping');
    assert.equal(driver.calls.length, calls, 'no load on focus');
    gate.activity('typing');
    await settle();
    assert.equal(gate.state, 'ready');
  }

  it('a failed unload ends sleeping, marked as the user’s sleep, with the failure logged', async () => {
    const { gate, driver, states, lines } = await loggingGate();
    driver.unloadFailures.push('The model host did not answer the request to free the model within 60 s, so it was stopped.');
    await gate.sleep();
    assert.equal(gate.state, 'sleeping');
    assert.equal(gate.error, null);
    assert.deepEqual(states, ['sleeping']);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^The model host did not answer .* The model sleeps, as asked\.$/);
    await onlyTypingWakes(gate, driver);
    assert.deepEqual(driver.calls, ['load', 'unload', 'load']);
    assert.deepEqual(driver.violations, []);
  });

  it('a hung host killed while the drain waits for a chat ends sleeping, not error, and is not restarted', async () => {
    const { gate, driver, states, lines } = await loggingGate();
    const chat = new Job(driver);
    const chatResult = track(gate.run('chat', chat.fn));
    const slept = gate.sleep();
    await settle();
    driver.loaded = false;
    gate.crashed('The model host did not answer a chat answer within 10 s, so it was stopped.', { restart: false });
    await slept;
    assert.ok(chatResult.outcome() instanceof GateUnavailableError);
    assert.equal(gate.state, 'sleeping');
    assert.equal(gate.error, null);
    assert.ok(!states.includes('error'), states.join(' '));
    assert.match(lines.join('\n'), /did not answer a chat answer .* The model sleeps, as asked\./);
    // Nothing was left to free, and nothing loads until the user types.
    assert.deepEqual(driver.calls, ['load']);
    await onlyTypingWakes(gate, driver);
    assert.deepEqual(driver.violations, []);
  });

  it('a wake that fails on a hung host while Sleep Now waits behind it ends sleeping', async () => {
    const { gate, driver, lines } = await loggingGate();
    await gate.followSleep(false);
    driver.holdLoads = true;
    const woken = gate.wake();
    await settle();
    driver.loadFailures.push('The model host did not start listening within 10 s, so it was stopped.');
    const slept = gate.sleep();
    await driver.finish();
    await woken;
    await slept;
    assert.equal(gate.state, 'sleeping');
    assert.match(lines.join('\n'), /did not start listening .* The model sleeps, as asked\./);
    driver.holdLoads = false;
    await onlyTypingWakes(gate, driver);
  });

  it('an idle sleep is not the user’s: its failed unload still shows as error', async () => {
    const { gate, driver, clock, lines } = await loggingGate();
    driver.unloadFailures.push('The model host did not stop in time.');
    await clock.advance(10_001);
    await settle();
    assert.equal(gate.state, 'error');
    assert.deepEqual(lines, []);
  });

  it('a wake after the Sleep Now was queued voids it: a later crash is an error as before', async () => {
    const { gate, driver } = await loggingGate();
    driver.holdUnloads = true;
    const slept = gate.sleep();
    await settle();
    const woken = gate.wake();
    await driver.finish();
    await slept;
    await woken;
    assert.equal(gate.state, 'ready');
    driver.loaded = false;
    gate.crashed('Crashed.');
    assert.equal(gate.state, 'error');
  });
});
