// The gate under random schedules: requests, cancels, activity, idle time, sleep/wake/reload,
// failing loads and unloads, host crashes and exempt reads, all on a fake
// clock with a driver whose loads and unloads take time. After every step and at the end the
// rules of the gate (DESIGN.md) must hold. GATE_PROPERTY_RUNS=n runs more (or fewer) schedules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GateCancelledError, GateUnavailableError, ResumeGate, type GateDriver, type RequestKind } from '../../server/src/lifecycle/gate';
import { FakeClock, settle } from './fakeClock';

type Step =
  | { t: 'request'; kind: RequestKind; duration: number; cancelAfter: number | null; honoursAbort: boolean }
  | { t: 'activity' }
  | { t: 'advance'; ms: number }
  | { t: 'sleep' }
  | { t: 'wake' }
  | { t: 'reload' }
  | { t: 'failNextLoad' }
  | { t: 'failNextUnload' }
  | { t: 'crash'; restart: boolean }
  | { t: 'configure'; idleMs: number; wakeOnActivity: boolean }
  | { t: 'exempt' };

interface Schedule {
  loadOnStart: boolean;
  idleMs: number;
  wakeOnActivity: boolean;
  loadMs: number;
  unloadMs: number;
  steps: Step[];
}

const idleChoices = fc.constantFrom(0, 40, 150);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('request' as const),
      kind: fc.constantFrom<RequestKind>('completion', 'chat'),
      duration: fc.integer({ min: 0, max: 120 }),
      cancelAfter: fc.option(fc.integer({ min: 0, max: 150 }), { nil: null, freq: 3 }),
      honoursAbort: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'activity' as const }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'sleep' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'wake' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reload' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'failNextLoad' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'failNextUnload' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('crash' as const), restart: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('configure' as const), idleMs: idleChoices, wakeOnActivity: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'exempt' as const }) },
);

const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  loadOnStart: fc.boolean(),
  idleMs: idleChoices,
  wakeOnActivity: fc.boolean(),
  loadMs: fc.constantFrom(0, 5, 60),
  unloadMs: fc.constantFrom(0, 5, 60),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 24 }),
});

/** A model manager on the fake clock: loads and unloads take time, and every misuse is noted. */
class SimulatedDriver implements GateDriver {
  loaded = false;
  busy: 'load' | 'unload' | null = null;
  running = 0;
  failLoads = 0;
  failUnloads = 0;
  readonly violations: string[] = [];
  /** Set by the test: whether an unload now may come from the idle watchdog, and if so, why not. */
  idleUnloadCheck: () => string | null = () => null;
  private failPendingLoad: ((message: string, final: boolean) => void) | null = null;

  constructor(
    private readonly clock: FakeClock,
    private readonly loadMs: number,
    private readonly unloadMs: number,
  ) {}

  load(): Promise<void> {
    if (this.busy !== null) this.violations.push(`load() while ${this.busy}() runs`);
    if (this.loaded) this.violations.push('load() while the model is loaded');
    this.busy = 'load';
    return new Promise((resolve, reject) => {
      const handle = this.clock.setTimeout(() => {
        this.busy = null;
        this.failPendingLoad = null;
        if (this.failLoads > 0) {
          this.failLoads--;
          this.onLoadFailed();
          reject(new Error('The model could not be loaded.'));
          return;
        }
        this.loaded = true;
        resolve();
      }, this.loadMs);
      this.failPendingLoad = (message, final) => {
        this.clock.clearTimeout(handle);
        this.busy = null;
        this.failPendingLoad = null;
        if (final) this.onLoadFailed();
        reject(new Error(message));
      };
    });
  }

  unload(): Promise<void> {
    if (this.busy !== null) this.violations.push(`unload() while ${this.busy}() runs`);
    if (this.running > 0) this.violations.push(`unload() while ${this.running} request fn(s) run`);
    const idleProblem = this.idleUnloadCheck();
    if (idleProblem !== null) this.violations.push(idleProblem);
    this.busy = 'unload';
    this.loaded = false;
    return new Promise((resolve, reject) => {
      this.clock.setTimeout(() => {
        this.busy = null;
        if (this.failUnloads > 0) {
          this.failUnloads--;
          reject(new Error('The model host did not stop in time.'));
          return;
        }
        resolve();
      }, this.unloadMs);
    });
  }

  /**
   * The host dies: the model is gone and a load on its way fails, as the real manager does. With
   * restart the gate may run that load again, so the requests waiting on it need not fail.
   */
  crash(restart: boolean): void {
    this.loaded = false;
    this.failPendingLoad?.('The model host stopped unexpectedly.', !restart);
  }

  /** Called when a load fails, before the gate hears of it. */
  onLoadFailed: () => void = () => {};

  /** Called by every request fn as it starts. */
  fnStarted(): void {
    if (!this.loaded || this.busy !== null) {
      this.violations.push(`a request fn started while the model was ${this.busy ?? 'unloaded'}`);
    }
    this.running++;
  }
}

interface RequestRecord {
  step: number;
  settled: boolean;
  started: boolean;
  outcome: unknown;
  /** It was waiting when a load failed, so that failure must end it. */
  waitedOnFailedLoad: boolean;
  /** It arrived while a sleep or reload drained, so it must not run before that unload. */
  arrivedDuringDrain: boolean;
}

class CallerCancelled extends Error {}

async function runSchedule(schedule: Schedule): Promise<void> {
  const clock = new FakeClock();
  const driver = new SimulatedDriver(clock, schedule.loadMs, schedule.unloadMs);
  let idleMs = schedule.idleMs;
  const gate = new ResumeGate(driver, clock, { idleMs, wakeOnActivity: schedule.wakeOnActivity });
  const violations = driver.violations;
  const requests: RequestRecord[] = [];

  // The last moment the gate had reason to count idleness from, as the test sees it.
  let lastUse = clock.now();
  let explicitOps = 0;
  const explicit = (promise: Promise<void>): void => {
    explicitOps++;
    promise.then(
      () => explicitOps--,
      (error: unknown) => violations.push(`a lifecycle call rejected: ${String(error)}`),
    );
  };
  // A sleep() or reload() that began draining at once (ready, no other operation), until it
  // unloads or ends.
  let drainActive = false;
  const drain = (call: () => Promise<void>): void => {
    const drains = gate.state === 'ready' && gate.idleMsLeft() !== null;
    const promise = call();
    explicit(promise);
    if (!drains || gate.idleMsLeft() !== null) return;
    drainActive = true;
    void promise.then(() => (drainActive = false));
  };
  driver.onLoadFailed = () => {
    for (const r of requests) if (!r.started && !r.settled) r.waitedOnFailedLoad = true;
  };
  driver.idleUnloadCheck = () => {
    drainActive = false;
    if (explicitOps > 0) return null;
    if (idleMs === 0) return 'the watchdog unloaded although sleep is off';
    const idle = clock.now() - lastUse;
    return idle < idleMs ? `the watchdog unloaded after ${idle} ms idle, below ${idleMs}` : null;
  };

  let previousState = gate.state;
  gate.onDidChange(() => {
    if (gate.inFlight < 0) violations.push('inFlight went negative');
    if (gate.state === 'ready' && !driver.loaded) violations.push('state ready while the model is not loaded');
    if (gate.state === 'ready' && previousState !== 'ready') lastUse = clock.now();
    previousState = gate.state;
  });

  const checkQuiet = (where: string): void => {
    if (gate.inFlight !== driver.running) {
      violations.push(`${where}: inFlight ${gate.inFlight} but ${driver.running} fn(s) running`);
    }
    if (gate.waiting < 0 || gate.inFlight < 0) violations.push(`${where}: negative counts`);
    if (gate.state === 'ready' && (!driver.loaded || driver.busy !== null)) {
      violations.push(`${where}: state ready while the model is ${driver.busy ?? 'unloaded'}`);
    }
    // Ready and idle (idleMsLeft is null while a drain runs): the watchdog counts from lastUse.
    const left = gate.idleMsLeft();
    if (gate.state === 'ready' && gate.inFlight === 0 && left !== null) {
      const expected = lastUse + idleMs - clock.now();
      if (left !== expected) violations.push(`${where}: idleMsLeft ${left}, expected ${expected}`);
      if (left <= 0) violations.push(`${where}: the watchdog overslept`);
    }
  };

  explicit(gate.start(schedule.loadOnStart));
  await settle();

  for (const [index, step] of schedule.steps.entries()) {
    switch (step.t) {
      case 'request': {
        const record: RequestRecord = {
          step: index,
          settled: false,
          started: false,
          outcome: undefined,
          waitedOnFailedLoad: false,
          arrivedDuringDrain: drainActive,
        };
        requests.push(record);
        const caller = new AbortController();
        if (step.cancelAfter !== null) {
          clock.setTimeout(() => caller.abort(new CallerCancelled('caller cancelled')), step.cancelAfter);
        }
        const fn = (signal: AbortSignal): Promise<string> => {
          if (record.settled) violations.push(`request ${index} started its fn after it had ended`);
          if (record.arrivedDuringDrain && drainActive) violations.push(`request ${index} ran during a drain`);
          record.started = true;
          driver.fnStarted();
          return new Promise<string>((resolve, reject) => {
            const finish = (): void => {
              driver.running--;
              lastUse = clock.now();
            };
            const handle = clock.setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              finish();
              resolve('ok');
            }, step.duration);
            const onAbort = (): void => {
              if (!step.honoursAbort) return;
              clock.clearTimeout(handle);
              finish();
              reject(signal.reason);
            };
            if (signal.aborted) violations.push('a request fn got a signal that had already aborted');
            signal.addEventListener('abort', onAbort, { once: true });
          });
        };
        gate.run(step.kind, fn, caller.signal).then(
          (value) => {
            record.settled = true;
            record.outcome = value;
          },
          (error: unknown) => {
            record.settled = true;
            record.outcome = error;
          },
        );
        break;
      }
      case 'activity':
        gate.activity();
        lastUse = clock.now();
        break;
      case 'advance':
        await clock.advance(step.ms);
        break;
      case 'sleep':
        drain(() => gate.sleep());
        break;
      case 'wake':
        explicit(gate.wake());
        break;
      case 'reload':
        drain(() => gate.reload());
        break;
      case 'failNextLoad':
        driver.failLoads++;
        break;
      case 'failNextUnload':
        driver.failUnloads++;
        break;
      case 'crash':
        // The model is gone, so a drain on its way has nothing left to unload.
        drainActive = false;
        driver.crash(step.restart);
        gate.crashed('The model host stopped unexpectedly.', { restart: step.restart });
        break;
      case 'configure':
        idleMs = step.idleMs;
        gate.configure({ idleMs: step.idleMs, wakeOnActivity: step.wakeOnActivity });
        lastUse = clock.now();
        break;
      case 'exempt': {
        const before = gate.snapshot();
        const timers = clock.pending;
        const due = clock.nextDue();
        gate.snapshot();
        gate.idleMsLeft();
        void [gate.state, gate.error, gate.inFlight, gate.waiting];
        await settle();
        assert.deepEqual(gate.snapshot(), before, 'an exempt call changed the gate');
        if (clock.pending !== timers || clock.nextDue() !== due) violations.push('an exempt call touched the timers');
        break;
      }
    }
    await settle();
    checkQuiet(`after step ${index} (${step.t})`);
    if (violations.length > 0) break;
  }

  // Let everything finish: loads, unloads, fns, cancels and the idle watchdog.
  await clock.runAll(5_000);
  checkQuiet('at the end');
  const open = requests.filter((r) => !r.settled).map((r) => r.step);
  if (open.length > 0) violations.push(`requests from steps ${open.join(', ')} never ended`);
  if (gate.waiting !== 0) violations.push(`${gate.waiting} request(s) still waiting at the end`);
  if (driver.busy !== null) violations.push(`the driver's ${driver.busy}() never ended`);
  if (gate.state === 'loading' || gate.state === 'waking') violations.push(`stuck in ${gate.state}`);
  if (gate.state === 'ready' && idleMs > 0) violations.push('ready with sleep on, but no idle timer left');
  if (explicitOps !== 0) violations.push(`${explicitOps} lifecycle call(s) never resolved`);
  for (const r of requests) {
    const fine =
      r.outcome === 'ok'
        ? r.started
        : r.outcome instanceof GateCancelledError || r.outcome instanceof GateUnavailableError || r.outcome instanceof CallerCancelled;
    if (!fine) violations.push(`request ${r.step} ended with ${String(r.outcome)}`);
    if (r.waitedOnFailedLoad && !(r.outcome instanceof GateUnavailableError)) {
      violations.push(`request ${r.step} waited on a failed load but ended with ${String(r.outcome)}`);
    }
  }
  gate.dispose();
  assert.deepEqual(violations, []);
}

describe('ResumeGate under random schedules', () => {
  it('keeps every rule of the gate', { timeout: 120_000 }, async () => {
    const numRuns = Number(process.env.GATE_PROPERTY_RUNS ?? 10_000);
    await fc.assert(fc.asyncProperty(scheduleArb, runSchedule), { numRuns });
  });
});
