// Turns a stream of editor events into at most one report per interval. The first event is
// reported at once; later ones inside the interval collapse into one trailing report at its
// end, so the server's idle timer is never more than one interval behind the user.
import { systemClock, type Clock } from '../../../server/src/shared/clock';

export class ActivityThrottle<T> {
  private lastSent = Number.NEGATIVE_INFINITY;
  private pending: { value: T } | null = null;
  private timer: unknown = null;
  private disposed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Records one event; the latest value wins when several collapse into one report. */
  note(value: T): void {
    if (this.disposed) return;
    if (this.timer !== null) {
      this.pending = { value };
      return;
    }
    const now = this.clock.now();
    const wait = this.lastSent + this.intervalMs - now;
    if (wait <= 0) {
      this.emit(value, now);
      return;
    }
    this.pending = { value };
    this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  dispose(): void {
    this.disposed = true;
    this.pending = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private flush(): void {
    this.timer = null;
    const pending = this.pending;
    this.pending = null;
    if (pending && !this.disposed) this.emit(pending.value, this.clock.now());
  }

  private emit(value: T, now: number): void {
    this.lastSent = now;
    this.send(value);
  }
}
