// Cuts the completion where its remaining lines repeat the lines that already follow the cursor:
// small models often write the code that is there and then keep going (the closing brace below the
// cursor, written a second time). Lines compare with their indentation, so a `  }` that closes the
// completion's own block is not mistaken for the `}` below it.
import type { Filter } from './filter';
import { isBlank, joinLines, linePrefixOf, lineSuffixOf, nextNonBlankLines, splitLines } from './lines';

/** Whether the non-blank lines of `lines` from `from` on match `expected`, in order, and there is at least one. */
function repeats(lines: readonly string[], from: number, expected: readonly string[]): boolean {
  let matched = 0;
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    if (line === '') continue;
    if (matched >= expected.length) return true; // The whole rest of the document was repeated.
    if (line !== expected[matched]) return false;
    matched += 1;
  }
  return matched > 0;
}

export const dropRepeatedSuffixLines: Filter = (item, ctx) => {
  const lines = splitLines(item);
  const expected = nextNonBlankLines(ctx.suffix, lines.length);
  if (expected.length === 0) return item;

  // The first line continues the cursor line; it is a whole line only when that line is otherwise empty.
  const linePrefix = linePrefixOf(ctx.prefix);
  const firstIsWholeLine = isBlank(linePrefix) && isBlank(lineSuffixOf(ctx.suffix));
  if (firstIsWholeLine) {
    const asWritten = [linePrefix + lines[0]!, ...lines.slice(1)];
    if (!isBlank(lines[0]!) && repeats(asWritten, 0, expected)) return '';
  }
  for (let i = 1; i < lines.length; i++) {
    if (isBlank(lines[i]!)) continue;
    if (repeats(lines, i, expected)) return joinLines(lines.slice(0, i));
  }
  return item;
};
