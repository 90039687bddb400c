// A clock that moves only when a test moves it. Timers fire in due order (ties in the order
// they were set), and promise callbacks settle after each one, so async code sees time pass
// the way it would in real life, only without waiting.
import type { Clock } from '../../server/src/shared/clock';

interface Timer {
  due: number;
  fn: () => void;
}

/** Lets every pending promise callback run (one macrotask turn drains the microtask queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { due: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the next timer fires, or null when none is set. */
  nextDue(): number | null {
    const next = this.earliest();
    return next === null ? null : next[1].due;
  }

  /** Moves time forward by ms, firing each due timer at its own time and settling after it.
   * Throws when more than maxTimers fire, so a timer that keeps re-arming fails a test
   * instead of hanging it. */
  async advance(ms: number, maxTimers = 100_000): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`A fake clock only moves forward, not by ${ms} ms.`);
    const target = this.time + ms;
    for (let fired = 0; ; fired++) {
      const next = this.earliest();
      if (next === null || next[1].due > target) break;
      if (fired >= maxTimers) throw new Error(`More than ${maxTimers} timers fired in ${ms} ms of fake time.`);
      this.timers.delete(next[0]);
      this.time = next[1].due;
      next[1].fn();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Fires timers (and whatever they set) until none is left; throws if that never ends. */
  async runAll(maxTimers = 10_000): Promise<void> {
    for (let fired = 0; ; fired++) {
      const due = this.nextDue();
      if (due === null) return;
      if (fired >= maxTimers) throw new Error(`The fake clock still had timers after ${maxTimers} fired.`);
      await this.advance(due - this.time);
    }
  }

  private earliest(): [number, Timer] | null {
    let best: [number, Timer] | null = null;
    // Map order is insertion order, so a strict < keeps ties in the order they were set.
    for (const entry of this.timers) {
      if (best === null || entry[1].due < best[1].due) best = entry;
    }
    return best;
  }
}
