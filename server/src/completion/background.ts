// Completion work nobody waits for: the prefill of a changed context ring and the suggestion
// that follows an accepted one. One task at a time, through the gate's background door (never a
// wake, never a reason to stay awake), and a keystroke always wins: a completion that needs the
// model stops the task at its next safe point, and a prefill waits for the next quiet moment.
import type { Clock } from '../shared/clock';
import { errorMessage } from '../shared/errors';

/** Runs fn when the model is ready, or answers null at once (the gate's runBackground). */
export type BackgroundDoor = <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T> | null;

/** A task: resolves true when its work is done, false when it stopped early and should run again at the next quiet moment. */
export type BackgroundTask = (signal: AbortSignal) => Promise<boolean>;

export interface BackgroundOptions {
  door: BackgroundDoor;
  clock: Clock;
  /** No key for this long counts as quiet. */
  quietMs: number;
  /** A completion is running or waiting for the model. */
  busy(): boolean;
  log(line: string): void;
}

/** About a second without a keystroke: the user is reading, not typing (DESIGN.md). */
export const defaultQuietMs = 1000;

export class BackgroundWork {
  private running: { controller: AbortController; task: BackgroundTask; quiet: boolean } | null = null;
  private quietTask: BackgroundTask | null = null;
  private timer: unknown = null;
  private lastKeyAt = Number.NEGATIVE_INFINITY;
  private disposed = false;

  constructor(private readonly options: BackgroundOptions) {}

  /** Whether a task runs now (tests and logs). */
  get active(): boolean {
    return this.running !== null;
  }

  /** A keystroke (a completion request): quiet counts from now. */
  touch(): void {
    this.lastKeyAt = this.options.clock.now();
    if (this.quietTask) this.arm();
  }

  /** A completion needs the model: the task running stops at its next safe point; a prefill is tried again at the next quiet moment. */
  stop(): void {
    this.touch();
    this.running?.controller.abort();
  }

  /** Runs `task` once no key came for quietMs and no completion runs; a newer one replaces one still waiting. */
  whenQuiet(task: BackgroundTask): void {
    if (this.disposed) return;
    this.quietTask = task;
    this.arm();
  }

  /** Runs `task` now when the model is ready (the next suggestion, right after one was shown); otherwise drops it. */
  now(task: BackgroundTask): void {
    if (this.disposed) return;
    this.start(task, false);
  }

  dispose(): void {
    this.disposed = true;
    this.quietTask = null;
    this.options.clock.clearTimeout(this.timer);
    this.running?.controller.abort();
  }

  private arm(): void {
    this.options.clock.clearTimeout(this.timer);
    const wait = Math.max(0, this.lastKeyAt + this.options.quietMs - this.options.clock.now());
    this.timer = this.options.clock.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = null;
    const task = this.quietTask;
    if (!task || this.disposed) return;
    const { clock, quietMs } = this.options;
    if (clock.now() < this.lastKeyAt + quietMs) return this.arm();
    // Something runs: try again once it has had time to end.
    if (this.options.busy() || this.running) {
      this.timer = clock.setTimeout(() => this.fire(), quietMs);
      return;
    }
    this.quietTask = null;
    this.start(task, true);
  }

  private start(task: BackgroundTask, quiet: boolean): void {
    this.running?.controller.abort();
    const controller = new AbortController();
    const entry = { controller, task, quiet };
    const work = this.options.door((gateSignal) => task(AbortSignal.any([gateSignal, controller.signal])));
    // The model sleeps or is busy with a lifecycle step: a wake must not be our doing; the next
    // completion evaluates what the task would have.
    if (!work) return;
    this.running = entry;
    work
      .then(
        (done) => {
          if (!done && quiet && !this.quietTask) this.whenQuiet(task);
        },
        (err: unknown) => this.options.log(`Background completion work failed: ${errorMessage(err)}`),
      )
      .finally(() => {
        if (this.running === entry) this.running = null;
      });
  }
}
