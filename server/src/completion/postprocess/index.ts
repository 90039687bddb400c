// The post-processing chain, in order: each filter sees the previous one's output.
import { cutAtNul } from './cutAtNul';
import { dedupeLeadingWhitespace } from './dedupeLeadingWhitespace';
import { dropEmpty } from './dropEmpty';
import { dropRepeatedSuffixLines } from './dropRepeatedSuffixLines';
import type { Filter, PostprocessContext } from './filter';
import { limitLines } from './limitLines';
import { removeSuffixOverlap } from './removeSuffixOverlap';
import { trimTrailingWhitespace } from './trimTrailingWhitespace';

export type { Filter, PostprocessContext } from './filter';

export const filters: readonly Filter[] = [
  // First: what follows a NUL is not text.
  cutAtNul,
  limitLines,
  // Before the whitespace trim: they compare lines and the line's rest, and ignore trailing space themselves.
  dropRepeatedSuffixLines,
  removeSuffixOverlap,
  trimTrailingWhitespace,
  dedupeLeadingWhitespace,
  dropEmpty,
];

/** Turns the model's raw text into what the editor shows, or null when nothing is worth showing. */
export function postprocess(raw: string, ctx: PostprocessContext): string | null {
  let item: string | null = raw;
  for (const filter of filters) {
    item = filter(item, ctx);
    if (item === null) return null;
  }
  return item;
}
