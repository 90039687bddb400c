// Every counter and figure the status reports about the model's use, in one place: the driver
// records loads, crashes and what a sleep freed, the gate's state changes count sleeps and wakes,
// the completion and chat features record their requests and figures. Status reads copies.
import { addPaceSample, type PaceSample } from './completionPace';
import type { CompletionCounters, Counters, ModelState, SleepFreed, TokenFigures } from '../shared/protocol';

export class ModelStats {
  private readonly model: Counters = { loads: 0, sleeps: 0, wakes: 0, hostCrashes: 0, lastLoadMs: null, lastWakeMs: null };
  private readonly completion: CompletionCounters = { requests: 0, generated: 0, cacheHits: 0, superseded: 0, prefetched: 0 };
  private completionFigures: TokenFigures | null = null;
  private chatFigures: TokenFigures | null = null;
  private chunks = 0;
  private readonly paces: PaceSample[] = [];
  private freed: SleepFreed | null = null;
  private sleepingSince: number | null = null;
  private previousState: ModelState | null = null;
  private wakeStarted: number | null = null;

  /** Loads, sleeps, wakes, crashes and their times. */
  counters(): Counters {
    return { ...this.model };
  }

  completions(): CompletionCounters {
    return { ...this.completion };
  }

  /** The last completion and chat turn that ran on the model; kept across sleep. */
  get lastCompletion(): TokenFigures | null {
    return this.completionFigures;
  }

  get lastChat(): TokenFigures | null {
    return this.chatFigures;
  }

  /** Context chunks in the last completion's prompt. */
  get contextChunks(): number {
    return this.chunks;
  }

  /** What the last sleep freed; null before the first. */
  get lastSleepFreed(): SleepFreed | null {
    return this.freed;
  }

  /** Epoch ms when the model last went to sleep; null while it is not asleep. */
  get asleepSince(): number | null {
    return this.sleepingSince;
  }

  /** Counts sleeps and wakes from the gate's state changes, timing each wake. */
  observe(state: ModelState, now: number): void {
    const previous = this.previousState;
    if (state === previous) return;
    if (state === 'sleeping' && previous !== null) {
      this.model.sleeps++;
      this.sleepingSince = now;
    }
    if (state === 'waking') this.wakeStarted = now;
    if (state === 'ready' && previous === 'waking' && this.wakeStarted !== null) {
      this.model.wakes++;
      this.model.lastWakeMs = now - this.wakeStarted;
      this.wakeStarted = null;
    }
    if (state !== 'sleeping') this.sleepingSince = null;
    this.previousState = state;
  }

  loaded(ms: number): void {
    this.model.loads++;
    this.model.lastLoadMs = ms;
  }

  engineCrashed(): void {
    this.model.hostCrashes++;
  }

  slept(freed: SleepFreed): void {
    this.freed = freed;
  }

  /** A completion request came (served by the model, the cache, or not at all). */
  completionRequested(): void {
    this.completion.requests++;
  }

  cacheHit(): void {
    this.completion.cacheHits++;
  }

  superseded(): void {
    this.completion.superseded++;
  }

  /** Dropped because the user asked for a completion in another window sharing the model. */
  yielded(): void {
    this.completion.yielded = (this.completion.yielded ?? 0) + 1;
  }

  generated(): void {
    this.completion.generated++;
  }

  prefetched(): void {
    this.completion.prefetched = (this.completion.prefetched ?? 0) + 1;
  }

  /** The figures of a completion the user sees, and the context chunks in its prompt. */
  completionRan(figures: TokenFigures, contextChunks: number): void {
    this.completionFigures = figures;
    this.chunks = contextChunks;
  }

  /** A completion the user waited for came back (capped or not): its time in the model. */
  completionTimed(ms: number, capped: boolean): void {
    addPaceSample(this.paces, { ms, capped });
  }

  /** The last few completions' times, oldest first. */
  get recentCompletions(): readonly PaceSample[] {
    return [...this.paces];
  }

  chatRan(figures: TokenFigures): void {
    this.chatFigures = figures;
  }
}
