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

/**
 * The pause after a one-line suggestion is shown before what follows its acceptance is computed:
 * longer than the gap between two keys of someone typing on, shorter than reading it before Tab.
 * (Started at once, it held the next key up to half a second on a slow model while it stopped.)
 */
export const nextSuggestionQuietMs = 250;

export class BackgroundWork {
  private running: { controller: AbortController; task: BackgroundTask } | null = null;
  private quietTask: BackgroundTask | null = null;
  /** How long without a key the waiting task needs (its own, or options.quietMs). */
  private quietMs: number;
  private timer: unknown = null;
  private lastKeyAt = Number.NEGATIVE_INFINITY;
  private disposed = false;

  constructor(private readonly options: BackgroundOptions) {
    this.quietMs = options.quietMs;
  }

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

  /**
   * Runs `task` once no key came for `quietMs` (default: the options') and no completion runs; a
   * newer one replaces one still waiting.
   */
  whenQuiet(task: BackgroundTask, quietMs = this.options.quietMs): void {
    if (this.disposed) return;
    this.quietTask = task;
    this.quietMs = quietMs;
    this.arm();
  }

  dispose(): void {
    this.disposed = true;
    this.quietTask = null;
    this.options.clock.clearTimeout(this.timer);
    this.running?.controller.abort();
  }

  private arm(): void {
    this.options.clock.clearTimeout(this.timer);
    const wait = Math.max(0, this.lastKeyAt + this.quietMs - this.options.clock.now());
    this.timer = this.options.clock.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = null;
    const task = this.quietTask;
    if (!task || this.disposed) return;
    const { clock } = this.options;
    const quietMs = this.quietMs;
    if (clock.now() < this.lastKeyAt + quietMs) return this.arm();
    // Something runs: try again once it has had time to end.
    if (this.options.busy() || this.running) {
      this.timer = clock.setTimeout(() => this.fire(), quietMs);
      return;
    }
    this.quietTask = null;
    this.start(task);
  }

  private start(task: BackgroundTask): void {
    this.running?.controller.abort();
    const controller = new AbortController();
    const entry = { controller, task };
    const work = this.options.door((gateSignal) => task(AbortSignal.any([gateSignal, controller.signal])));
    // The model sleeps or is busy with a lifecycle step: a wake must not be our doing; the next
    // completion evaluates what the task would have.
    if (!work) return;
    this.running = entry;
    work
      .then(
        (done) => {
          if (!done && !this.quietTask) this.whenQuiet(task, this.options.quietMs);
        },
        (err: unknown) => this.options.log(`Background completion work failed: ${errorMessage(err)}`),
      )
      .finally(() => {
        if (this.running === entry) this.running = null;
      });
  }
}
