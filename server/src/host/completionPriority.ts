// Whose completion work runs on a model host that several windows share. All windows use the one
// completion sequence (its KV holds one prompt), so the work of a window the user left only
// delays the window the user types in, and then throws away that window's prompt. One window is
// the typed one, the window the user is in:
// - editor activity (or a chat question) in a window makes it the typed one, and stops the
//   background work of the others;
// - a completion request from the typed window stops every other window's completion work,
//   queued or running (each is answered as no suggestion);
// - a completion request from another window makes that window the typed one only when the typed
//   window has been quiet for typingHoldMs; until then it runs after the typed window's work and
//   stops nothing, so a window that keeps asking cannot take turns with the one being typed in;
// - background work (the context ring's prefill, the next suggestion) runs only for the typed
//   window; another window's yields at once.
// A window's own requests are not reordered here: its server already cancels the older one.
// Pure: no IPC, no node-llama-cpp; priorityWork.ts applies the decisions.

/** `completion`: a request the user waits for; `background`: work nobody waits for. */
export type CompletionWorkKind = 'completion' | 'background';

export interface CompletionWork<W> {
  window: W;
  kind: CompletionWorkKind;
}

export interface Admission<T> {
  /** false: the work yields before it starts. */
  run: boolean;
  /** Queued or running work of other windows that yields to this one. */
  stop: T[];
}

/**
 * How long the typed window keeps its place with no activity and no completion request of its
 * own: about the pause between a typist's keys (background.ts's quiet second). Activity
 * notifications come at most once a second per window (engine/local/sharedHostMirror.ts), so typing alone keeps it.
 */
export const typingHoldMs = 1000;

export class CompletionPriority<W> {
  private typedWindow: W | undefined;
  private typedAt = Number.NEGATIVE_INFINITY;

  /** `enabled` false: first come, first served, as with no priority at all (the benchmark's baseline). */
  constructor(
    readonly enabled = true,
    private readonly holdMs = typingHoldMs,
  ) {}

  /** The window the user was last seen in; undefined before any activity or request, or after it detached. */
  typed(): W | undefined {
    return this.typedWindow;
  }

  /** Editor activity in `window` (or a chat question) at `now` (ms): returns the background work of other windows in `pending` to stop. */
  activity<T extends CompletionWork<W>>(window: W, now: number, pending: Iterable<T>): T[] {
    this.typedWindow = window;
    this.typedAt = now;
    if (!this.enabled) return [];
    return [...pending].filter((work) => work.window !== window && work.kind === 'background');
  }

  /** Whether `work`, arriving at `now` (ms), runs, and which of `pending` (queued or running) yields to it. */
  admit<T extends CompletionWork<W>>(work: CompletionWork<W>, now: number, pending: Iterable<T>): Admission<T> {
    const typed = this.typedWindow;
    if (work.kind === 'background') {
      return { run: !this.enabled || typed === undefined || typed === work.window, stop: [] };
    }
    if (typed !== undefined && typed !== work.window && now - this.typedAt < this.holdMs) return { run: true, stop: [] };
    this.typedWindow = work.window;
    this.typedAt = now;
    if (!this.enabled) return { run: true, stop: [] };
    return { run: true, stop: [...pending].filter((other) => other.window !== work.window) };
  }

  /** A window that detached. */
  forget(window: W): void {
    if (this.typedWindow !== window) return;
    this.typedWindow = undefined;
    this.typedAt = Number.NEGATIVE_INFINITY;
  }
}
