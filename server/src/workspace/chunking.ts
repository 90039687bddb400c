// A file cut into chunks for the workspace index, by its shape rather than by a parser: a chunk
// ends where a blank line (or a closing brace at the margin) is followed by a line at the lowest
// indentation in reach, so chunks are whole top-level declarations (a function with its doc
// comment, a class's method) whenever they fit; a block longer than a chunk is cut at its own
// inner blank lines, and only text with no such place at all is cut in line windows with overlap.
// Works for any language and never fails on broken code. Pure.

export interface ChunkLimits {
  /** Most lines in one chunk. */
  maxLines: number;
  /** Most characters in one chunk (a chunk has at least one line, however long). */
  maxChars: number;
  /** A cut is not made before this many lines, so that a chunk is not one stray line. */
  minLines: number;
  /** Lines repeated at the start of the next chunk when a block had to be cut blindly. */
  overlapLines: number;
}

export const defaultChunkLimits: ChunkLimits = { maxLines: 40, maxChars: 1600, minLines: 6, overlapLines: 4 };

/** Lines of a file, 0-based and inclusive: the text is lines startLine..endLine. */
export interface LineRange {
  startLine: number;
  endLine: number;
}

/** The file's text split into lines the way the chunks count them (\n, \r\n or \r). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** The lines of `range`, joined with \n. */
export function rangeText(lines: readonly string[], range: LineRange): string {
  return lines.slice(range.startLine, range.endLine + 1).join('\n');
}

/** Columns of leading whitespace (a tab counts 4); null for a blank line. */
function indentOf(line: string): number | null {
  let cols = 0;
  for (const ch of line) {
    if (ch === ' ') cols++;
    else if (ch === '\t') cols += 4;
    else return cols;
  }
  return null;
}

const closesBlock = /^\s*[})\]]|^\s*end\b/;

/**
 * The cost of starting a chunk at line i: its indentation when a blank line or the end of a block
 * comes before it, else null (no good place). Lower is better: 0 is a top-level declaration.
 */
function cutCost(lines: readonly string[], indents: readonly (number | null)[], i: number): number | null {
  const here = indents[i];
  if (here === null || i === 0) return null;
  // A closing bracket belongs to what it closes.
  if (closesBlock.test(lines[i])) return null;
  const before = indents[i - 1];
  if (before === null) return here;
  if (before <= here && closesBlock.test(lines[i - 1])) return here;
  return null;
}

/** The chunks of a file's lines, in order, covering every non-blank line at least once. */
export function chunkLines(lines: readonly string[], limits: ChunkLimits = defaultChunkLimits): LineRange[] {
  const indents = lines.map(indentOf);
  const chunks: LineRange[] = [];
  let start = 0;
  while (start < lines.length) {
    // Skip blank lines between chunks.
    while (start < lines.length && indents[start] === null) start++;
    if (start >= lines.length) break;
    // The furthest end this chunk may reach, by lines and by characters.
    let limit = start;
    let chars = lines[start].length;
    while (limit + 1 < lines.length && limit + 1 - start < limits.maxLines && chars + 1 + lines[limit + 1].length <= limits.maxChars) {
      limit++;
      chars += 1 + lines[limit].length;
    }
    if (limit === lines.length - 1) {
      chunks.push(trimmed(indents, start, limit));
      break;
    }
    // The best place to cut in (start + minLines, limit + 1]: lowest indentation, then latest.
    let best: number | null = null;
    let bestCost = Infinity;
    for (let i = start + Math.max(1, limits.minLines); i <= limit + 1; i++) {
      const cost = cutCost(lines, indents, i);
      if (cost !== null && cost <= bestCost) {
        best = i;
        bestCost = cost;
      }
    }
    if (best !== null) {
      chunks.push(trimmed(indents, start, best - 1));
      start = best;
    } else {
      chunks.push(trimmed(indents, start, limit));
      const next = limit + 1 - limits.overlapLines;
      start = next > start ? next : limit + 1;
    }
  }
  return chunks;
}

/** The range without its trailing blank lines (its first line is never blank). */
function trimmed(indents: readonly (number | null)[], start: number, end: number): LineRange {
  let last = end;
  while (last > start && indents[last] === null) last--;
  return { startLine: start, endLine: last };
}
