// Whose completion work runs on a model host that several windows share. All windows use the one
// completion sequence (its KV holds one prompt), so the work of a window the user left only
// delays the window the user types in and then throws away that window's prompt. The window with
// the latest activity (editor activity, a chat question, a completion request) is the typed one:
// - a completion request makes its window the typed one, and every other window's completion
//   work, queued or running, yields to it (answered as no suggestion);
// - background work (the context ring's prefill, the next suggestion) runs only for the typed
//   window; another window's yields at once, and activity elsewhere stops it.
// A window's own requests are not reordered here: its server already cancels the older one.
// Pure: no IPC, no node-llama-cpp; sharedHost.ts applies the decisions.

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

export class CompletionPriority<W> {
  /** Each window's latest activity, as an increasing count (clock ties cannot reorder windows). */
  private readonly lastActive = new Map<W, number>();
  private ticks = 0;

  /** `enabled` false: first come, first served, as with no priority at all (the benchmark's baseline). */
  constructor(readonly enabled = true) {}

  /** The window with the latest activity; undefined before any. */
  typed(): W | undefined {
    let typed: W | undefined;
    let latest = -1;
    for (const [window, tick] of this.lastActive) {
      if (tick > latest) {
        latest = tick;
        typed = window;
      }
    }
    return typed;
  }

  /**
   * Activity in `window` (editor activity or a chat question): it becomes the typed window, and
   * the background work of other windows in `pending` stops. Their completions go on: the user
   * may be back before they end, and the next completion request decides.
   */
  activity<T extends CompletionWork<W>>(window: W, pending: Iterable<T>): T[] {
    this.lastActive.set(window, ++this.ticks);
    if (!this.enabled) return [];
    return [...pending].filter((work) => work.window !== window && work.kind === 'background');
  }

  /** Whether `work` runs now, and which of `pending` (queued or running) yields to it. */
  admit<T extends CompletionWork<W>>(work: CompletionWork<W>, pending: Iterable<T>): Admission<T> {
    if (work.kind === 'completion') {
      this.lastActive.set(work.window, ++this.ticks);
      if (!this.enabled) return { run: true, stop: [] };
      return { run: true, stop: [...pending].filter((other) => other.window !== work.window) };
    }
    if (!this.enabled) return { run: true, stop: [] };
    const typed = this.typed();
    return { run: typed === undefined || typed === work.window, stop: [] };
  }

  /** A window that detached. */
  forget(window: W): void {
    this.lastActive.delete(window);
  }
}
