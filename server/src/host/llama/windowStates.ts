// Whose tokens the one completion sequence holds on a host shared by several windows, and the
// saved states of the others. A window switch (A, then B, then A) would otherwise evaluate A's
// whole prompt again: the engine saves the holder's state before another window's completion and
// restores that window's own, if it has one. At most `maxWindows` states are kept, within a byte
// cap, the least recently saved going first. A state is only ever given back to the window that
// saved it. Pure: the engine writes, loads and deletes the files this names.

export interface SavedWindowState<T> {
  bytes: number;
  value: T;
}

/** What must happen before a completion of `window` runs on the sequence. */
export interface WindowSwitch<T> {
  /** The window whose tokens the sequence holds now and should be saved; null when it is this one or nobody's. */
  save: string | null;
  /** This window's saved state, taken out of the keeping; null when it has none. */
  restore: T | null;
}

export class WindowStates<T> {
  private holding: string | null = null;
  /** Least recently saved first. */
  private readonly saved = new Map<string, SavedWindowState<T>>();

  constructor(private readonly maxWindows: number) {}

  /** The window whose tokens the sequence holds; null after a load or once it detached. */
  get holder(): string | null {
    return this.holding;
  }

  get count(): number {
    return this.saved.size;
  }

  get totalBytes(): number {
    let total = 0;
    for (const s of this.saved.values()) total += s.bytes;
    return total;
  }

  /** The windows with a saved state, least recently saved first. */
  windows(): string[] {
    return [...this.saved.keys()];
  }

  /** The first kept window whose saved value `test` accepts, least recently saved first; null when none does. */
  find(test: (value: T) => boolean): string | null {
    for (const [window, state] of this.saved) if (test(state.value)) return window;
    return null;
  }

  /** What a switch to `window` takes; nothing when it holds the sequence already. Does not change the holder (hold does). */
  plan(window: string): WindowSwitch<T> {
    if (this.holding === window) return { save: null, restore: null };
    const mine = this.saved.get(window);
    if (mine) this.saved.delete(window);
    return { save: this.holding, restore: mine ? mine.value : null };
  }

  /** The sequence now holds `window`'s tokens. */
  hold(window: string | null): void {
    this.holding = window;
  }

  /**
   * Keeps `window`'s saved state as the most recent one; returns the states that no longer fit
   * (the count or `capBytes`, oldest first; this one too when it alone is over the cap), whose
   * files the caller deletes. A state the window had saved before is replaced and returned.
   */
  keep(window: string, bytes: number, value: T, capBytes: number): T[] {
    const dropped: T[] = [];
    const old = this.saved.get(window);
    if (old) {
      this.saved.delete(window);
      dropped.push(old.value);
    }
    this.saved.set(window, { bytes, value });
    let total = this.totalBytes;
    for (const [key, s] of this.saved) {
      if (this.saved.size <= this.maxWindows && total <= capBytes) break;
      this.saved.delete(key);
      total -= s.bytes;
      dropped.push(s.value);
    }
    return dropped;
  }

  /** The window detached: its saved state (to delete), if any; it holds the sequence no more. */
  forget(window: string): T | null {
    if (this.holding === window) this.holding = null;
    const mine = this.saved.get(window);
    this.saved.delete(window);
    return mine ? mine.value : null;
  }

  /** Every saved state (to delete), and nobody holds the sequence: an unload. */
  clear(): T[] {
    const all = [...this.saved.values()].map((s) => s.value);
    this.saved.clear();
    this.holding = null;
    return all;
  }
}
