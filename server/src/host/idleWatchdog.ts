// The shared host's idle watchdog: the model sleeps once no attached window has been active for
// the shortest idle time among them. Activity (a request, editor activity, the end of a
// generation) starts the wait again, work in flight holds it, and with no window asking for sleep
// there is no wait at all. On the injectable clock, so a fake one drives it in tests.
import type { Clock } from '../shared/clock';

export interface IdleWatchdogOptions {
  clock: Clock;
  /** The idle time each attached window asks for, in ms; 0 (or less) when that window never asks for sleep. */
  idleTimes(): Iterable<number>;
  /** Whether a sleep may come at all: the model is ready and no sleep is under way. */
  armed(): boolean;
  /** The shortest idle time passed with no activity and no work in flight. */
  onIdle(idleMs: number): void;
}

export class IdleWatchdog {
  private lastActivity: number;
  private inFlight = 0;
  /** Boxed: a clock's handle may be any value, 0 included. */
  private timer: { handle: unknown } | null = null;

  constructor(private readonly options: IdleWatchdogOptions) {
    this.lastActivity = options.clock.now();
  }

  /** The shortest idle time any window asks for; null when none asks for sleep. */
  idleMs(): number | null {
    let shortest: number | null = null;
    for (const ms of this.options.idleTimes()) {
      if (ms > 0 && (shortest === null || ms < shortest)) shortest = ms;
    }
    return shortest;
  }

  /** Until the sleep, as of now; null when no sleep can come. While work is in flight, the whole idle time. */
  msLeft(): number | null {
    const idle = this.idleMs();
    if (idle === null || !this.options.armed()) return null;
    if (this.inFlight > 0) return idle;
    return Math.max(0, this.lastActivity + idle - this.options.clock.now());
  }

  /** Activity now: the wait starts again. */
  touch(): void {
    this.lastActivity = this.options.clock.now();
    this.rearm();
  }

  /** A generation begins: no sleep until it ends. Counts as activity. */
  workStarted(): void {
    this.inFlight++;
    this.touch();
  }

  /** A generation ended: counts as activity. */
  workEnded(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.touch();
  }

  /** Sets the timer again for what the windows ask now (after a window came, left or changed its idle time, or the model's state changed). */
  rearm(): void {
    this.stop();
    const left = this.msLeft();
    if (left === null || this.inFlight > 0) return;
    this.timer = { handle: this.options.clock.setTimeout(() => this.fired(), left) };
  }

  /** No timer until the next rearm or activity. */
  stop(): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer.handle);
    this.timer = null;
  }

  private fired(): void {
    this.timer = null;
    const left = this.msLeft();
    if (left === null || this.inFlight > 0) return;
    if (left > 0) {
      this.rearm();
      return;
    }
    this.options.onIdle(this.idleMs() ?? 0);
  }
}
