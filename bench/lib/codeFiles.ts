// A long and a short source file around the same cursor line, for the per-keystroke benchmarks:
// copies of the sample document with their identifiers numbered, so no stretch of one copy
// repeats in another or in the short file (the host keeps its cut of the prompt's front while
// that text is still in the document; text repeated across files would let it keep the wrong one).
import { sampleDocument } from './document';

/** The line the benchmarks type along; the cursor starts at its end. */
export const cursorLineStart = '    const label = ';
/** The cursor line goes right before this line of the sample document (inside `add`). */
const insertBefore = '    this.insert(task as Task<unknown>);';
const renamed = /\b(Scheduler|TaskState|TaskOptions|Task|defaults)\b/g;

const sampleLines = sampleDocument.replace(/\n$/, '').split('\n');
const insertAt = sampleLines.indexOf(insertBefore);
if (insertAt < 0) throw new Error('The cursor line anchor is not in the sample document.');

function copy(tag: string): string[] {
  return sampleLines.map((line) => line.replace(renamed, `$1${tag}`));
}

export interface CodeFile {
  text: string;
  /** Offset of the cursor: the end of the cursor line. */
  offset: number;
  lines: number;
}

function withCursorLine(lines: string[], line: number): CodeFile {
  const all = [...lines.slice(0, line), cursorLineStart, ...lines.slice(line)];
  const text = `${all.join('\n')}\n`;
  return { text, offset: all.slice(0, line + 1).join('\n').length, lines: all.length };
}

/** About `lineCount` lines: copies of the sample, the cursor line in the middle copy. */
export function longFile(lineCount: number): CodeFile {
  const copies = Math.ceil(lineCount / sampleLines.length);
  const lines = Array.from({ length: copies }, (_, i) => copy(String(i + 1)))
    .flat()
    .slice(0, lineCount - 1);
  const middle = Math.floor(copies / 2);
  return withCursorLine(lines, middle * sampleLines.length + insertAt);
}

/** `lineCount` lines around the same place in a copy of its own, the cursor line in the middle. */
export function shortFile(lineCount: number): CodeFile {
  const before = Math.floor((lineCount - 1) / 2);
  const from = Math.max(0, insertAt - before);
  const lines = copy('Short').slice(from, from + lineCount - 1);
  return withCursorLine(lines, insertAt - from);
}
