// Completions already generated, so that asking again at the same place, or typing along the
// ghost text, costs no generation. A bounded LRU; pure, no timers. Its texts are copies (see
// detach.ts): the cache outlives many versions of a 10 MB document.
import { detach } from './detach';

export interface CompletionCacheKey {
  uri: string;
  /** Text before the cursor (the infill window's prefix will do; only its tail is kept). */
  prefix: string;
  /** Text after the cursor (only its head is kept). */
  suffix: string;
}

export interface CompletionCacheOptions {
  maxEntries: number;
  /** Longer completions are not kept. */
  maxCompletionChars: number;
  /** Characters before the cursor that must match for a hit. */
  prefixTailChars: number;
  /** Characters after the cursor that must match for a hit. */
  suffixHeadChars: number;
}

export const defaultCacheOptions: CompletionCacheOptions = {
  maxEntries: 200,
  maxCompletionChars: 4000,
  prefixTailChars: 1000,
  suffixHeadChars: 250,
};

interface Entry {
  uri: string;
  prefixTail: string;
  suffixHead: string;
  completion: string;
}

export class CompletionCache {
  private readonly options: CompletionCacheOptions;
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(options: Partial<CompletionCacheOptions> = {}) {
    this.options = { ...defaultCacheOptions, ...options };
    for (const [name, value] of Object.entries(this.options)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`The completion cache's ${name} must be a whole number of at least 1, not ${value}.`);
      }
    }
  }

  /** The completion to show at `key`: one generated here, or the rest of one the user is typing along. */
  get(key: CompletionCacheKey): string | undefined {
    const suffixHead = this.suffixHeadOf(key.suffix);
    const id = this.idOf(key.uri, this.prefixTailOf(key.prefix), suffixHead);
    const exact = this.entries.get(id);
    if (exact) {
      this.touch(id, exact);
      return exact.completion;
    }
    const along = this.typedAlong(key, suffixHead);
    if (along) {
      this.touch(along.id, along.entry);
      return along.rest;
    }
    return undefined;
  }

  /** Remembers `completion` for `key`; empty or oversized completions are not kept. */
  set(key: CompletionCacheKey, completion: string): void {
    if (completion === '' || completion.length > this.options.maxCompletionChars) return;
    const entry: Entry = {
      uri: detach(key.uri),
      prefixTail: detach(this.prefixTailOf(key.prefix)),
      suffixHead: detach(this.suffixHeadOf(key.suffix)),
      completion: detach(completion),
    };
    const id = this.idOf(entry.uri, entry.prefixTail, entry.suffixHead);
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Drops every entry of a document (on close). */
  forgetDocument(uri: string): void {
    for (const [id, entry] of this.entries) {
      if (entry.uri === uri) this.entries.delete(id);
    }
  }

  /** Drops every entry (another model now answers). */
  clear(): void {
    this.entries.clear();
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  private prefixTailOf(prefix: string): string {
    return prefix.slice(-this.options.prefixTailChars);
  }

  private suffixHeadOf(suffix: string): string {
    return suffix.slice(0, this.options.suffixHeadChars);
  }

  private idOf(uri: string, prefixTail: string, suffixHead: string): string {
    // NUL cannot occur in a URI, and the tail's length tells where it ends.
    return `${uri}\0${prefixTail.length}\0${prefixTail}${suffixHead}`;
  }

  private touch(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
  }

  /**
   * An entry generated at prefix P whose completion C starts with what was typed since (the
   * prefix is now P + t, with t a proper start of C), and the rest of C. Most recent first.
   */
  private typedAlong(key: CompletionCacheKey, suffixHead: string): { id: string; entry: Entry; rest: string } | undefined {
    const { prefix } = key;
    if (prefix === '') return undefined;
    const lastChar = prefix[prefix.length - 1];
    const candidates = [...this.entries].reverse();
    for (const [id, entry] of candidates) {
      if (entry.uri !== key.uri || entry.suffixHead !== suffixHead) continue;
      const { completion } = entry;
      const longest = Math.min(completion.length - 1, prefix.length);
      for (let typed = 1; typed <= longest; typed++) {
        if (completion[typed - 1] !== lastChar) continue;
        if (!prefix.endsWith(completion.slice(0, typed))) continue;
        if (this.prefixTailOf(prefix.slice(0, prefix.length - typed)) !== entry.prefixTail) continue;
        return { id, entry, rest: completion.slice(typed) };
      }
    }
    return undefined;
  }
}
