// Removes the end of the completion that repeats the start of the text after the cursor on its
// line: with `foo(║)`, the completion `a, b)` becomes `a, b`, since the `)` is already there.
import type { Filter } from './filter';
import { lineSuffixOf } from './lines';

function isWordChar(char: string): boolean {
  return /[\p{L}\p{N}_$]/u.test(char);
}

export const removeSuffixOverlap: Filter = (item, ctx) => {
  const rest = lineSuffixOf(ctx.suffix).trim();
  if (rest === '') return item;
  const body = item.trimEnd();
  for (let overlap = Math.min(rest.length, body.length); overlap > 0; overlap--) {
    const head = rest.slice(0, overlap);
    if (!body.endsWith(head)) continue;
    // A partial word (`len` of `length`) may be the model's own text; punctuation or the whole rest is not.
    if (overlap === rest.length || !isWordChar(head[0]!)) return body.slice(0, body.length - overlap);
  }
  return item;
};
