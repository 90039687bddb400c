// The context ring (DESIGN.md, "Never evaluate a token twice"): chunks of other files, copied
// text and definitions that go before the file's own FIM prompt. It is bounded (chunk count,
// lines per chunk, a character budget derived from the token budget) and kept oldest first, so
// adding a chunk appends to the prompt's front part and the tokens of the older chunks, with
// their KV cache, stay where they were. Pure: no timers, no model.
import type { ContextChunk, ContextChunkKind } from '../shared/protocol';
import { ringCharsPerToken } from '../shared/ringChars';

export interface RingLimits {
  maxChunks: number;
  maxLinesPerChunk: number;
  /** Characters of chunk text the ring holds in all, as ringSize counts them (the host cuts to the exact token budget). */
  maxChars: number;
}

export const defaultRingLimits: RingLimits = { maxChunks: 16, maxLinesPerChunk: 64, maxChars: 1024 * ringCharsPerToken };

/** Share of lines two chunks have in common above which the newer one adds nothing worth a re-evaluation. */
export const nearDuplicateShare = 0.9;

/**
 * The ring's limits for a token budget: never more than half the context, so the file's own
 * prompt and the answer always keep the other half.
 */
export function ringLimitsFor(tokenBudget: number, contextSize: number): RingLimits {
  return { ...defaultRingLimits, maxChars: ringTokenBudget(tokenBudget, contextSize) * ringCharsPerToken };
}

/** The tokens the ring may take in a prompt: the setting, capped at half the context. */
export function ringTokenBudget(tokenBudget: number, contextSize: number): number {
  return Math.max(0, Math.min(tokenBudget, Math.floor(contextSize / 2)));
}

/** The lines of the current file that its own prompt covers; chunks overlapping them add nothing. */
export interface PromptWindow {
  uri: string;
  /** 0-based, inclusive. */
  startLine: number;
  /** 0-based, inclusive. */
  endLine: number;
}

/** A chunk as the ring keeps it: its text cut to the limits, its last line known. */
export interface RingChunk extends ContextChunk {
  /** 0-based line of its last line; -1 when it has no place in a file. */
  endLine: number;
}

const kinds: readonly ContextChunkKind[] = ['file', 'edit', 'clipboard', 'definition'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The chunks of a localLlm/contextChunks notification that are well formed, and one sentence
 * about those that are not (null when all are).
 */
export function parseChunks(raw: unknown): { chunks: ContextChunk[]; problem: string | null } {
  if (!isRecord(raw) || !Array.isArray(raw.chunks)) {
    return { chunks: [], problem: 'localLlm/contextChunks needs params {chunks: [...]}; the notification was ignored.' };
  }
  const chunks: ContextChunk[] = [];
  let bad = 0;
  for (const c of raw.chunks as unknown[]) {
    if (
      isRecord(c) &&
      typeof c.path === 'string' &&
      typeof c.uri === 'string' &&
      typeof c.text === 'string' &&
      Number.isInteger(c.startLine) &&
      (c.startLine as number) >= -1 &&
      kinds.includes(c.kind as ContextChunkKind)
    ) {
      chunks.push({ path: c.path, uri: c.uri, startLine: c.startLine as number, text: c.text, kind: c.kind as ContextChunkKind });
    } else {
      bad++;
    }
  }
  const problem =
    bad === 0
      ? null
      : `${bad} context chunk${bad === 1 ? ' was' : 's were'} ignored: each needs path, uri and text (strings), startLine (a whole number, -1 for none) and kind (${kinds.join(', ')}).`;
  return { chunks, problem };
}

function significantLines(text: string): Set<string> {
  const lines = new Set<string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') lines.add(trimmed);
  }
  return lines;
}

/** Whether two texts share nearly all their (trimmed, non-blank) lines. */
export function nearDuplicate(a: string, b: string): boolean {
  const la = significantLines(a);
  const lb = significantLines(b);
  if (la.size === 0 || lb.size === 0) return la.size === lb.size;
  let common = 0;
  for (const line of la) if (lb.has(line)) common++;
  return common / Math.max(la.size, lb.size) >= nearDuplicateShare;
}

function overlaps(a: { startLine: number; endLine: number }, startLine: number, endLine: number): boolean {
  return a.startLine >= 0 && startLine >= 0 && a.startLine <= endLine && startLine <= a.endLine;
}

/**
 * A text's size as the ring counts it: a character a character, except that a character outside
 * ASCII counts as ringCharsPerToken of them. CJK, emoji and other non-ASCII text often costs a
 * token (or, with a byte-level vocabulary, three) per character, so counting it at four
 * characters a token would let one such chunk take several times the ring's budget.
 */
export function ringSize(text: string): number {
  let size = text.length;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) size += ringCharsPerToken - 1;
  return size;
}

/** How many leading characters of `text` fit in `size` (as ringSize counts). */
function prefixWithin(text: string, size: number): number {
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    used += text.charCodeAt(i) > 0x7f ? ringCharsPerToken : 1;
    if (used > size) return i;
  }
  return text.length;
}

/** The chunk cut to whole lines within the limits (a chunk is a few dozen lines); null when nothing is left. */
function cut(chunk: ContextChunk, limits: RingLimits): RingChunk | null {
  let lines = chunk.text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines = lines.slice(0, limits.maxLinesPerChunk);
  let text = lines.join('\n');
  // One enormous line (minified code) is cut, not allowed to take the whole budget.
  const maxSize = Math.max(0, Math.floor(limits.maxChars / 2));
  if (ringSize(text) > maxSize) {
    const fits = prefixWithin(text, maxSize);
    const lineEnd = text.lastIndexOf('\n', fits);
    text = lineEnd > 0 ? text.slice(0, lineEnd) : text.slice(0, fits);
    lines = text.split('\n');
  }
  if (text.trim() === '') return null;
  const endLine = chunk.startLine < 0 ? -1 : chunk.startLine + lines.length - 1;
  return { ...chunk, text, endLine };
}

/**
 * Chunks oldest first. A chunk that nearly repeats one already held is dropped (the older one
 * keeps its place and its KV); one that overlaps another of the same file but says something new
 * replaces it at the end; the oldest go when the count or the character budget is over.
 */
export class ContextRing {
  private chunks: RingChunk[] = [];
  private limits: RingLimits;
  /** Bumped on every change, so a prefill knows whether the ring it evaluated is still current. */
  private changes = 0;

  constructor(limits: RingLimits = defaultRingLimits) {
    this.limits = { ...limits };
  }

  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.chunks.length;
  }

  /** Chunk text held, as ringSize counts it. */
  get chars(): number {
    return this.chunks.reduce((sum, c) => sum + ringSize(c.text), 0);
  }

  /** New limits (settings changed); the oldest chunks go if they are now over. */
  configure(limits: RingLimits): void {
    this.limits = { ...limits };
    if (this.evict()) this.changes++;
  }

  /** Adds chunks in the order given (oldest first). Returns whether the ring changed. */
  add(incoming: readonly ContextChunk[]): boolean {
    let changed = false;
    for (const raw of incoming) {
      const chunk = cut(raw, this.limits);
      if (!chunk || this.limits.maxChars === 0 || this.limits.maxChunks === 0) continue;
      if (this.chunks.some((held) => nearDuplicate(held.text, chunk.text))) continue;
      this.chunks = this.chunks.filter(
        (held) => held.uri === '' || held.uri !== chunk.uri || !overlaps(held, chunk.startLine, chunk.endLine),
      );
      this.chunks.push(chunk);
      changed = true;
    }
    if (this.evict()) changed = true;
    if (changed) this.changes++;
    return changed;
  }

  /** Forgets every chunk (the ring was turned off). */
  clear(): void {
    if (this.chunks.length === 0) return;
    this.chunks = [];
    this.changes++;
  }

  /** Forgets the chunks of a document (closed or deleted); other chunks keep their order. */
  forgetDocument(uri: string): boolean {
    const before = this.chunks.length;
    this.chunks = this.chunks.filter((c) => c.uri !== uri);
    if (this.chunks.length === before) return false;
    this.changes++;
    return true;
  }

  /** The chunks for a prompt at `window`, oldest first, without those its own lines already hold. */
  select(window: PromptWindow | null): RingChunk[] {
    if (!window) return [...this.chunks];
    return this.chunks.filter((c) => c.uri !== window.uri || !overlaps(c, window.startLine, window.endLine));
  }

  /** Drops the oldest chunks until the count and the budget hold. Returns whether any went. */
  private evict(): boolean {
    let dropped = false;
    let chars = this.chars;
    while (this.chunks.length > 0 && (this.chunks.length > this.limits.maxChunks || chars > this.limits.maxChars)) {
      const oldest = this.chunks.shift();
      chars -= oldest ? ringSize(oldest.text) : 0;
      dropped = true;
    }
    return dropped;
  }
}
