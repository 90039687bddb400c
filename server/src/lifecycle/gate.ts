// The single door to the model (DESIGN.md, "The sleep state machine" and "Rules of the gate").
// Pure: no node-llama-cpp, no vscode, no timers of its own. The model manager is the driver,
// time comes from a Clock, so every rule here can be tested with a fake clock and a fake driver.
import type { Clock } from '../shared/clock';
import { ModelLeftError } from '../shared/errors';
import type { ActivityKind, ModelState } from '../shared/protocol';
import { describe, overdueSentence } from './gateSentences';

/** The gate's states are the model states the status reports. */
export type GateState = ModelState;

/** Implemented by the server's model manager. The gate never calls two of these at once. */
export interface GateDriver {
  /**
   * Load model and context; throws an Error whose message is one human sentence. `first`: the
   * kind of the first request waiting for it (#25: with two models, its model loads first).
   */
  load(first?: RequestKind): Promise<void>;
  /** Free the model (deep: the host exits; light: dispose). Called only when nothing is in flight.
   * After it returns or throws, the gate treats the model as gone; the next load() must work either way. */
  unload(): Promise<void>;
  // After crashed(), the gate also treats the model as gone, even when a load() running at that
  // moment resolves: the next load() must then start afresh.
  /**
   * The longest a load or unload may take before the gate stops waiting on it; null (or no such
   * method) sets no bound. Asked as each call starts, so it may depend on what is loaded (a
   * download has its own no-progress timeout and no overall bound).
   */
  stepTimeoutMs?(kind: DriverCall): number | null;
  /**
   * The gate stopped waiting on the call of this kind that is still running: the call failed
   * for the gate, whatever it does later. End it so that it settles soon; the gate's next call
   * may come before it has.
   */
  abandon?(kind: DriverCall): void;
}

export type DriverCall = 'load' | 'unload';

export interface GateOptions {
  /** Idle time before the model sleeps; 0 = never sleep. */
  idleMs: number;
  /** Editor activity wakes a sleeping model. */
  wakeOnActivity: boolean;
}

export type RequestKind = 'completion' | 'chat';

export interface GateSnapshot {
  state: GateState;
  error: string | null;
  inFlight: number;
  /** Requests waiting for the model to be ready. */
  waiting: number;
  idleMsLeft: number | null;
}

/** The request was cancelled: its caller's signal aborted while it waited, or (as an abort
 * reason handed to a running completion) the gate drained it for a sleep or a reload. */
export class GateCancelledError extends Error {
  override readonly name = 'GateCancelledError';
}

/** The model cannot serve: a wake or load failed (the message is that sentence), the model
 * host crashed, or the server is shutting down. */
export class GateUnavailableError extends Error {
  override readonly name = 'GateUnavailableError';
}

// Node fires a longer timeout at once; a longer idle time is re-armed when the timer fires.
const maxTimerMs = 0x7fffffff;

type OperationKind = 'load' | 'sleep' | 'reload';

interface Operation {
  kind: OperationKind;
  started: boolean;
  body: () => Promise<void>;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** A sleep this window asked for (its Sleep Now), not one that follows the shared host. */
  askedHere: boolean;
}

interface Waiter {
  kind: RequestKind;
  start(): void;
  fail(error: Error): void;
}

interface Running {
  kind: RequestKind;
  controller: AbortController;
}

/** Why the gate is in `error`: only a crash of a model that was fine is retried on activity. */
type ErrorCause = 'load' | 'unload' | 'crash';

export interface CrashOptions {
  /**
   * The host died on its own while the model was loaded or loading (not hung and killed for it,
   * not put to sleep): load the model again at once, without waiting for a request. The gate
   * does so once; see restartSettleMs.
   */
  restart?: boolean;
}

/**
 * An automatic restart counts as having worked, so that a later crash is restarted again, once
 * the restarted model has served a request and stayed up this long. A crash before that is left
 * in `error` (a model that crashes again and again must not reload in a loop), and the next
 * request or activity retries, as after any crash.
 */
export const restartSettleMs = 60_000;

/** Added to the crash sentence when the gate does not restart on its own. */
export const noSecondRestart =
  'It had been restarted after a crash just before, so it is not restarted on its own again; the next request starts it.';

/** A call may join the same operation at the end of the queue, unless that one may already
 * be using old settings (a reload that started). */
function joinable(op: Operation): boolean {
  return op.kind !== 'reload' || !op.started;
}

/** Sleep and wake undo each other. */
function opposite(a: OperationKind, b: OperationKind): boolean {
  return (a === 'load' && b === 'sleep') || (a === 'sleep' && b === 'load');
}

function checkOptions(options: Partial<GateOptions>): void {
  if (options.idleMs !== undefined && !(Number.isFinite(options.idleMs) && options.idleMs >= 0)) {
    throw new RangeError(`The idle time must be 0 or more milliseconds, not ${String(options.idleMs)}.`);
  }
}

/**
 * Lifecycle operations (load, sleep, reload) run one at a time in call order, so the
 * driver is never asked to load and unload at once. Requests wait in one queue while the model
 * is not ready or an operation runs, and start together when it is ready. Lifecycle methods
 * never reject: a failure lands in `state`/`error`, and only requests reject.
 */
export class ResumeGate {
  private options: GateOptions;
  private currentState: GateState = 'loading';
  private currentError: string | null = null;
  private errorCause: ErrorCause | null = null;
  private started = false;
  private disposed = false;
  /** Asleep because the user said "Sleep Now": only typing (or a request, or Wake Up) wakes it. */
  private sleptByUser = false;
  /**
   * A Sleep Now is queued or running: a host that dies or hangs on the way (the drain, the unload)
   * ends in `sleeping`, not `error`; the model is gone either way, as the user asked (#24).
   */
  private userSleepAsked = false;
  private startPromise: Promise<void> | null = null;

  /** The model is loaded as far as the gate knows (false from the moment an unload begins). */
  private loaded = false;
  private driverCall: DriverCall | null = null;
  private crashDuringLoad: { sentence: string; restart: boolean } | null = null;
  /** When the gate last restarted a crashed model on its own; null: never. */
  private restartedAt: number | null = null;
  /** A request succeeded since that restart. */
  private servedSinceRestart = false;

  private readonly queue: Operation[] = [];
  private current: Operation | null = null;
  private readonly waiters = new Set<Waiter>();
  private readonly running = new Set<Running>();
  private drainWaiters: Array<() => void> = [];
  /** Background work (runBackground): not in flight, never a reason to stay awake. */
  private readonly background = new Set<AbortController>();

  private lastUse: number;
  private idleHandle: unknown = null;
  private idleArmed = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly driver: GateDriver,
    private readonly clock: Clock,
    options: GateOptions,
    /** Where the gate says what it did not show as a state (a Sleep Now that met a failure). */
    private readonly log: (line: string) => void = () => undefined,
  ) {
    checkOptions(options);
    this.options = { ...options };
    this.lastUse = clock.now();
  }

  get state(): GateState {
    return this.currentState;
  }

  /** The sentence behind `error`; null otherwise. */
  get error(): string | null {
    return this.currentError;
  }

  get inFlight(): number {
    return this.running.size;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  onDidChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  configure(options: Partial<GateOptions>): void {
    checkOptions(options);
    this.options = {
      idleMs: options.idleMs ?? this.options.idleMs,
      wakeOnActivity: options.wakeOnActivity ?? this.options.wakeOnActivity,
    };
    if (this.disposed) return;
    // A new idle time counts from now.
    this.lastUse = this.clock.now();
    this.rearmIdle();
  }

  /** loadNow: loading -> ready | error; otherwise -> sleeping with nothing loaded. Never rejects. */
  start(loadNow: boolean): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.started) return this.startPromise ?? Promise.resolve();
    this.started = true;
    if (loadNow) {
      this.startPromise = this.schedule('load', () => this.loadModel('loading'));
      return this.startPromise;
    }
    this.setState('sleeping', null);
    this.pump();
    return Promise.resolve();
  }

  /**
   * Runs fn once the model is ready, waking it if needed (a wake after an error retries the load).
   * fn's signal aborts when the caller's signal aborts, when the model host crashes, and for a
   * completion when sleep() or reload() drains. Rejects GateCancelledError when the caller's
   * signal aborts while waiting, GateUnavailableError when the wake fails.
   */
  run<T>(kind: RequestKind, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.runOnce(kind, fn, signal).catch((err: unknown) => {
      // The model left under the request (a deep sleep this window heard of just after sending
      // it): the gate already follows that sleep, so the request now waits for the wake, as one
      // that came during the sleep does. Once: a second time is an error like any other.
      if (!(err instanceof ModelLeftError) || this.disposed) throw err;
      return this.runOnce(kind, fn, signal);
    });
  }

  private runOnce<T>(kind: RequestKind, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.disposed) return Promise.reject(new GateUnavailableError('The model server is shutting down.'));
    if (signal?.aborted) return Promise.reject(cancelledWhileWaiting());
    if (this.currentState === 'ready' && this.current === null) return this.execute(kind, fn, signal);
    const result = new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        this.emit();
        reject(cancelledWhileWaiting());
      };
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      const waiter: Waiter = {
        kind,
        start: () => {
          detach();
          this.execute(kind, fn, signal).then(resolve, reject);
        },
        fail: (error) => {
          detach();
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
    this.emit();
    this.pump();
    return result;
  }

  /**
   * Background work (a prefill, the next suggestion): runs fn at once when the model is ready and
   * no lifecycle step or request waits, else returns null. It never wakes the model, never moves
   * the idle deadline and does not count as in flight; a sleep, reload, crash or dispose aborts
   * it, and a sleep waits for it to stop before it frees the model.
   */
  runBackground<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> | null {
    if (this.disposed || this.currentState !== 'ready' || this.current !== null || this.queue.length > 0 || this.waiters.size > 0)
      return null;
    const controller = new AbortController();
    this.background.add(controller);
    const result = settled(fn, controller.signal);
    return result.finally(() => {
      this.background.delete(controller);
      this.settleDrain();
    });
  }

  /**
   * Editor activity: resets the idle timer; wakes a sleeping model when wakeOnActivity is on.
   * After "Sleep Now" only typing counts: the focus coming back from the command palette must not
   * undo what the user just asked for.
   */
  activity(kind: ActivityKind = 'typing'): void {
    if (this.disposed) return;
    if (this.sleptByUser && kind !== 'typing') return;
    this.lastUse = this.clock.now();
    if (this.currentState === 'ready') {
      this.rearmIdle();
      return;
    }
    const settled = this.current === null && this.queue.length === 0;
    // A failed load is not retried on every keystroke; a crashed model that had loaded fine is.
    const wakeable = this.currentState === 'sleeping' || (this.currentState === 'error' && this.errorCause === 'crash');
    if (this.options.wakeOnActivity && this.started && settled && wakeable) {
      void this.schedule('load', () => this.loadModel('waking'));
    }
  }

  /** "Sleep Now" in this window: aborts in-flight completions, waits for every request, unloads -> sleeping. */
  sleep(): Promise<void> {
    return this.sleepAs(true, true);
  }

  /**
   * The shared model host went to sleep, for every window: this gate follows it. byUser: some
   * window's Sleep Now (else the idle time of every window, which activity may undo).
   */
  followSleep(byUser: boolean): Promise<void> {
    return this.sleepAs(byUser, false);
  }

  private async sleepAs(byUser: boolean, askedHere: boolean): Promise<void> {
    if (this.disposed || !this.started) return;
    if (this.loaded || this.current !== null || this.queue.length > 0) {
      if (byUser) this.userSleepAsked = true;
      await this.schedule('sleep', () => this.sleepModel(), askedHere);
    }
    if (this.currentState === 'sleeping' && byUser) this.sleptByUser = true;
  }

  /** sleeping | error -> waking -> ready (or error); joins a wake already on its way. Never rejects. */
  wake(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (!this.started) return this.start(true);
    if (this.currentState === 'ready' && this.current === null && this.queue.length === 0) return Promise.resolve();
    return this.schedule('load', () => this.loadModel('waking'));
  }

  /**
   * The shared model host is ready: another window woke it, or this window's own load just ended
   * there. A sleeping gate follows it, as wake() does, but this is no intent of this window's: a
   * Sleep Now of this window queued behind its wake or reload is not voided by it.
   */
  followReady(): Promise<void> {
    const tail = this.queue.at(-1);
    if (tail?.kind === 'sleep' && tail.askedHere) return Promise.resolve();
    return this.wake();
  }

  /**
   * Settings changed: drains (aborting completions), unloads and loads again (state `loading`).
   * A sleeping model stays asleep (its next wake loads with the new settings); a model in
   * error is loaded again, since the new settings may fix it. Never rejects.
   */
  reload(): Promise<void> {
    if (this.disposed || !this.started) return Promise.resolve();
    return this.schedule('reload', () => this.reloadModel());
  }

  /**
   * The model host died unexpectedly: the model is gone and running requests are aborted. With
   * `restart` (and unless a sleep was asked for, or the last automatic restart has not proved
   * itself yet: restartSettleMs) the model is loaded again at once (state `loading`); otherwise
   * state -> error(message), and the next request, activity or wake retries the load.
   */
  crashed(message: string, options: CrashOptions = {}): void {
    if (this.disposed || this.driverCall === 'unload') return;
    let sentence = message.trim() === '' ? 'The model host stopped unexpectedly.' : message;
    if (this.driverCall === 'load') {
      // The load decides; if it claims success anyway, the model is still treated as gone.
      this.crashDuringLoad = { sentence, restart: options.restart === true };
      return;
    }
    this.loaded = false;
    this.abortRunning('all', new GateUnavailableError(sentence));
    this.clearIdle();
    if (this.userSleepAsked && this.sleepAsked()) {
      // The model is gone, as the user asked: the sleep that runs or waits finds nothing to free.
      this.log(`${sentence} The model sleeps, as asked.`);
      this.setState('sleeping', null);
      return;
    }
    const wanted = options.restart === true && this.started && !this.sleepAsked();
    const restart = wanted && this.mayRestart();
    if (wanted && !restart) sentence = `${sentence} ${noSecondRestart}`;
    this.errorCause = 'crash';
    if (restart) {
      this.noteRestart();
      // Behind an operation that runs now (a reload loads anyway), the error shows until the load starts.
      if (this.current !== null) this.setState('error', sentence);
      void this.schedule('load', () => this.loadModel('loading'));
      return;
    }
    this.setState('error', sentence);
    this.pump();
  }

  /** Whether a crash may be restarted on its own now: never before, or the last restart proved itself. */
  private mayRestart(): boolean {
    if (this.restartedAt === null) return true;
    return this.servedSinceRestart && this.clock.now() - this.restartedAt >= restartSettleMs;
  }

  private noteRestart(): void {
    this.restartedAt = this.clock.now();
    this.servedSinceRestart = false;
  }

  /** A sleep runs or waits: the user or the shared host wants the model gone, crash or not. */
  private sleepAsked(): boolean {
    return this.current?.kind === 'sleep' || this.queue.some((op) => op.kind === 'sleep');
  }

  /** Milliseconds until the idle sleep; null when not ready, sleep is off or a drain runs. Exempt. */
  idleMsLeft(): number | null {
    if (this.currentState !== 'ready' || this.options.idleMs === 0 || this.current !== null) return null;
    if (this.running.size > 0) return this.options.idleMs;
    return Math.max(0, this.lastUse + this.options.idleMs - this.clock.now());
  }

  /** Exempt: reads only. */
  snapshot(): GateSnapshot {
    return {
      state: this.currentState,
      error: this.currentError,
      inFlight: this.running.size,
      waiting: this.waiters.size,
      idleMsLeft: this.idleMsLeft(),
    };
  }

  /** Clears the timer, rejects waiting requests and aborts running ones; queued operations
   * that have not started are dropped. Does not unload: the server stops the host itself. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearIdle();
    const error = new GateUnavailableError('The model server is shutting down.');
    this.rejectWaiters(error);
    this.abortRunning('all', error);
    this.listeners.clear();
  }

  // ---- operations -------------------------------------------------------------------------

  private schedule(kind: OperationKind, body: () => Promise<void>, askedHere = false): Promise<void> {
    // A wake that has not started yet is void once a sleep follows it, and the other way round:
    // only the last intent runs, and whoever waited on the dropped one waits on what follows.
    const dropped: Operation[] = [];
    while (this.queue.length > 0 && opposite(this.queue[this.queue.length - 1].kind, kind)) dropped.push(this.queue.pop()!);
    const joined = this.join(kind);
    const settle = (promise: Promise<void>): Promise<void> => {
      for (const op of dropped) promise.then(op.resolve, op.resolve);
      return promise;
    };
    if (joined) {
      if (askedHere) joined.askedHere = true;
      return settle(joined.promise);
    }
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queue.push({ kind, started: false, body, promise, resolve, reject, askedHere });
    if (this.current === null) this.startNext();
    return settle(promise);
  }

  /** The same operation at the end of the queue, when a new call may share it. */
  private join(kind: OperationKind): Operation | null {
    const tail = this.queue.length > 0 ? this.queue[this.queue.length - 1] : this.current;
    return tail !== null && tail !== undefined && tail.kind === kind && joinable(tail) ? tail : null;
  }

  private startNext(): void {
    if (this.disposed) {
      for (const op of this.queue.splice(0)) op.resolve();
      return;
    }
    const op = this.queue.shift();
    if (op === undefined) {
      this.pump();
      this.rearmIdle();
      return;
    }
    // Requests that waited for the wake that just ended run before the next operation drains them.
    if (this.currentState === 'ready') this.admitWaiters();
    this.current = op;
    op.started = true;
    this.clearIdle();
    let done: Promise<void>;
    try {
      done = op.body();
    } catch (error) {
      done = Promise.reject(error);
    }
    done.then(
      () => {
        this.current = null;
        this.startNext();
        op.resolve();
      },
      (error: unknown) => {
        this.current = null;
        this.startNext();
        op.reject(error);
      },
    );
  }

  private async loadModel(label: 'loading' | 'waking'): Promise<void> {
    // A Sleep Now that was queued before this load is void (the last intent wins).
    this.userSleepAsked = false;
    if (this.disposed) return;
    if (this.loaded) {
      this.setState('ready', null);
      return;
    }
    this.errorCause = null;
    this.setState(label, null);
    let failure: string | null;
    for (;;) {
      this.crashDuringLoad = null;
      failure = null;
      this.driverCall = 'load';
      try {
        await this.callDriver('load');
      } catch (error) {
        failure = describe(error, 'The model could not be loaded.');
      } finally {
        this.driverCall = null;
      }
      const crash = this.takeCrashDuringLoad();
      if (crash === null) break;
      failure ??= crash.sentence;
      if (this.disposed || !crash.restart || this.sleepAsked()) break;
      // The host died under the load: the same load starts it again, once (crashed()).
      if (!this.mayRestart()) {
        failure = `${failure} ${noSecondRestart}`;
        break;
      }
      this.noteRestart();
    }
    if (failure === null) this.loaded = true;
    if (this.disposed) return;
    if (failure !== null) {
      this.errorCause = 'load';
      this.setState('error', failure);
      this.rejectWaiters(new GateUnavailableError(failure));
      return;
    }
    this.setState('ready', null);
  }

  /** The crash that crashed() noted while the driver loaded, if any; forgotten once read. */
  private takeCrashDuringLoad(): { sentence: string; restart: boolean } | null {
    const crash = this.crashDuringLoad;
    this.crashDuringLoad = null;
    return crash;
  }

  private async sleepModel(): Promise<void> {
    try {
      await this.sleepLoadedModel();
    } finally {
      this.userSleepAsked = false;
    }
  }

  private async sleepLoadedModel(): Promise<void> {
    if (!this.loaded) {
      // Never expected; without it a watchdog that found "ready" would fire again at once.
      if (this.currentState === 'ready') this.setState('sleeping', null);
      // A load that failed just before (a hung host, say) leaves nothing to free: Sleep Now wins.
      else if (this.currentState === 'error' && this.userSleepAsked) {
        this.log(`${this.currentError ?? 'The model could not be loaded.'} The model sleeps, as asked.`);
        this.setState('sleeping', null);
      }
      return;
    }
    this.abortRunning('completion', new GateCancelledError('The completion was cancelled because the model is going to sleep.'));
    await this.drained();
    // A crash during the drain already took care of the model.
    if (!this.loaded || this.disposed) return;
    this.setState('sleeping', null);
    const failure = await this.unloadModel();
    if (failure === null || this.disposed) return;
    // The model counts as gone after a failed unload (GateDriver.unload): the user's sleep stands.
    if (this.userSleepAsked) {
      this.log(`${failure} The model sleeps, as asked.`);
      return;
    }
    this.errorCause = 'unload';
    this.setState('error', failure);
  }

  private async reloadModel(): Promise<void> {
    if (this.disposed) return;
    if (this.loaded) {
      this.abortRunning(
        'completion',
        new GateCancelledError('The completion was cancelled because the model is reloading with new settings.'),
      );
      await this.drained();
      if (this.disposed) return;
      if (this.loaded) {
        this.setState('loading', null);
        // A failed unload is not fatal here: the load that follows decides the state.
        await this.unloadModel();
      }
    } else if (this.currentState !== 'error') {
      return;
    }
    await this.loadModel('loading');
  }

  /** Returns the failure sentence, or null. The model counts as gone from the first moment. */
  private async unloadModel(): Promise<string | null> {
    this.loaded = false;
    this.driverCall = 'unload';
    try {
      await this.callDriver('unload');
      return null;
    } catch (error) {
      return describe(error, 'The model could not be unloaded.');
    } finally {
      this.driverCall = null;
    }
  }

  /**
   * One driver call, never waited on for longer than the driver's bound: one step that never
   * settles (a file on a hung mount, a stopped model host) must not hold every request behind it.
   */
  private async callDriver(kind: DriverCall): Promise<void> {
    const bound = this.driver.stepTimeoutMs?.(kind) ?? null;
    const work = kind === 'load' ? this.driver.load(this.waiters.values().next().value?.kind) : this.driver.unload();
    if (bound === null || !Number.isFinite(bound)) return work;
    // Once the gate gave up, the call's outcome is ignored; it must not reject unhandled.
    work.catch(() => undefined);
    let handle: unknown = null;
    const overdue = new Promise<never>((_, reject) => {
      handle = this.clock.setTimeout(
        () => {
          handle = null;
          reject(new Error(overdueSentence(kind, bound)));
          this.driver.abandon?.(kind);
        },
        Math.min(Math.max(0, bound), maxTimerMs),
      );
    });
    try {
      await Promise.race([work, overdue]);
    } finally {
      if (handle !== null) this.clock.clearTimeout(handle);
    }
  }

  // ---- requests ---------------------------------------------------------------------------

  private pump(): void {
    if (this.disposed || this.current !== null) return;
    if (this.currentState === 'ready') {
      this.admitWaiters();
      return;
    }
    const asleep = this.currentState === 'sleeping' || this.currentState === 'error';
    if (this.waiters.size > 0 && this.started && asleep) {
      void this.schedule('load', () => this.loadModel('waking'));
    }
  }

  private admitWaiters(): void {
    if (this.waiters.size === 0) return;
    const admitted = [...this.waiters];
    this.waiters.clear();
    for (const waiter of admitted) waiter.start();
  }

  private rejectWaiters(error: Error): void {
    if (this.waiters.size === 0) return;
    const rejected = [...this.waiters];
    this.waiters.clear();
    for (const waiter of rejected) waiter.fail(error);
    this.emit();
  }

  private execute<T>(kind: RequestKind, fn: (signal: AbortSignal) => Promise<T>, callerSignal?: AbortSignal): Promise<T> {
    const controller = new AbortController();
    const entry: Running = { kind, controller };
    const forward = (): void => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forward, { once: true });
    this.running.add(entry);
    this.clearIdle();
    this.emit();
    const result = settled(fn, controller.signal);
    // A model restarted after a crash proves itself by serving a request (one that started on it).
    const restartedAt = this.restartedAt;
    result.then(
      () => {
        if (this.restartedAt === restartedAt) this.servedSinceRestart = true;
      },
      () => undefined,
    );
    return result.finally(() => {
      callerSignal?.removeEventListener('abort', forward);
      this.running.delete(entry);
      this.lastUse = this.clock.now();
      this.emit();
      this.settleDrain();
      this.rearmIdle();
    });
  }

  /** Resolves those waiting for the drain once no request and no background work runs. */
  private settleDrain(): void {
    if (this.running.size > 0 || this.background.size > 0) return;
    const drained = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of drained) resolve();
  }

  /** Aborts running requests of `kind`, and always every background work: each caller is about to change the model under it. */
  private abortRunning(kind: RequestKind | 'all', reason: Error): void {
    for (const controller of this.background) controller.abort(reason);
    for (const entry of this.running) {
      if (kind === 'all' || entry.kind === kind) entry.controller.abort(reason);
    }
  }

  private drained(): Promise<void> {
    if (this.running.size === 0 && this.background.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // ---- idle timer -------------------------------------------------------------------------

  private rearmIdle(): void {
    this.clearIdle();
    if (this.disposed || this.currentState !== 'ready' || this.current !== null) return;
    if (this.running.size > 0 || this.options.idleMs === 0) return;
    const delay = Math.max(0, this.lastUse + this.options.idleMs - this.clock.now());
    this.idleArmed = true;
    this.idleHandle = this.clock.setTimeout(() => this.onIdle(), Math.min(delay, maxTimerMs));
  }

  private clearIdle(): void {
    if (!this.idleArmed) return;
    this.idleArmed = false;
    this.clock.clearTimeout(this.idleHandle);
    this.idleHandle = null;
  }

  private onIdle(): void {
    this.idleArmed = false;
    this.idleHandle = null;
    if (this.disposed || this.currentState !== 'ready' || this.current !== null) return;
    if (this.running.size > 0 || this.options.idleMs === 0) return;
    if (this.clock.now() < this.lastUse + this.options.idleMs) {
      this.rearmIdle();
      return;
    }
    void this.schedule('sleep', () => this.sleepModel());
  }

  // ---- state ------------------------------------------------------------------------------

  private setState(state: GateState, error: string | null): void {
    if (state === this.currentState && error === this.currentError) return;
    // Idleness counts from the moment the model became ready.
    if (state === 'ready' && this.currentState !== 'ready') this.lastUse = this.clock.now();
    this.currentState = state;
    this.currentError = error;
    if (state !== 'error') this.errorCause = null;
    if (state !== 'sleeping') this.sleptByUser = false;
    this.emit();
  }

  private emit(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        // A broken listener must not leave the gate half-way through a transition.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/** fn's promise; one that throws before it returns gives a rejected promise, never a throw. */
function settled<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return Promise.resolve(fn(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

function cancelledWhileWaiting(): GateCancelledError {
  return new GateCancelledError('The request was cancelled while it waited for the model.');
}
