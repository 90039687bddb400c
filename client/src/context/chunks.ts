// Cutting a context chunk out of a document: which lines, and their text within bounds. Pure
// (no `vscode`): the collectors hand in the line count and a line reader.
import type { ContextChunk, ContextChunkKind } from '../../../server/src/shared/protocol';

/** Lines in a chunk: a few dozen, enough for a function and its neighbours. */
export const chunkLines = 40;
/** Longer lines (minified code, data) are cut here; they say little to a completion. */
export const maxLineChars = 400;
/** The text of one chunk never exceeds this. */
export const maxChunkChars = 6000;

export interface LineSpan {
  /** First line, 0-based. */
  start: number;
  /** One past the last line. */
  end: number;
}

export interface LineSource {
  lineCount: number;
  lineAt(line: number): string;
}

function clampSpan(start: number, lines: number, lineCount: number): LineSpan {
  const s = Math.max(0, Math.min(start, lineCount - lines));
  return { start: s, end: Math.min(lineCount, s + lines) };
}

/**
 * The chunk around a cursor line. Its start snaps to a grid of half a chunk, so a cursor that moved
 * a few lines gives the same chunk (sent once) while keeping a quarter chunk on either side of it.
 */
export function spanAround(line: number, lineCount: number, lines = chunkLines): LineSpan {
  const step = Math.max(1, Math.floor(lines / 2));
  const start = Math.floor(Math.max(0, line - Math.floor(lines / 4)) / step) * step;
  return clampSpan(start, lines, lineCount);
}

/** The chunk over an edited region (a few lines of margin); a region too long keeps the part around the last edit. */
export function spanOver(first: number, last: number, latest: number, lineCount: number, lines = chunkLines): LineSpan {
  const margin = 3;
  const start = Math.max(0, first - margin);
  const end = Math.min(lineCount, last + margin + 1);
  if (end - start <= lines) return { start, end };
  return clampSpan(latest - Math.floor(lines / 2), lines, lineCount);
}

/** A definition starts a chunk, with a couple of lines above it for its doc comment or decorators. */
export function spanFrom(line: number, lastLine: number, lineCount: number, lines = chunkLines): LineSpan {
  const start = Math.max(0, line - 2);
  const end = Math.min(lineCount, Math.max(lastLine + 1, line + 1), start + lines);
  return { start, end };
}

/** The lines' text, long lines cut, trailing blank lines dropped; null when nothing but blanks is left. */
export function spanText(source: LineSource, span: LineSpan): string | null {
  const lines: string[] = [];
  let chars = 0;
  for (let i = span.start; i < span.end && i < source.lineCount; i++) {
    const line = source.lineAt(i);
    const cut = line.length > maxLineChars ? line.slice(0, maxLineChars) : line;
    if (chars + cut.length + 1 > maxChunkChars) break;
    lines.push(cut);
    chars += cut.length + 1;
  }
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.every((l) => l.trim() === '')) return null;
  return lines.join('\n') + '\n';
}

export interface ChunkOrigin {
  path: string;
  uri: string;
}

/** A chunk of `source` over `span`, or null when the span holds no text. */
export function chunkOf(kind: ContextChunkKind, origin: ChunkOrigin, source: LineSource, span: LineSpan): ContextChunk | null {
  const text = spanText(source, span);
  if (text === null) return null;
  return { path: origin.path, uri: origin.uri, startLine: span.start, text, kind };
}

/** Copied text as a chunk: no place in a file (uri '', line -1), bounded like the rest. */
export function clipboardChunk(path: string, text: string): ContextChunk | null {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const body = spanText({ lineCount: lines.length, lineAt: (i) => lines[i] }, { start: 0, end: chunkLines });
  if (body === null) return null;
  return { path, uri: '', startLine: -1, text: body, kind: 'clipboard' };
}

/** True when two spans share more than half of the shorter one. */
export function mostlyOverlap(a: LineSpan, b: LineSpan): boolean {
  const shared = Math.min(a.end, b.end) - Math.max(a.start, b.start);
  const shorter = Math.min(a.end - a.start, b.end - b.start);
  return shorter > 0 && shared * 2 > shorter;
}
