// The prompt already ends with the cursor line's indentation, yet models often write it again.
// When the cursor sits after indentation only and the completion starts with that same
// indentation, it is removed; after other text ending in a space, leading spaces are removed.
import type { Filter } from './filter';
import { linePrefixOf } from './lines';

export const dedupeLeadingWhitespace: Filter = (item, ctx) => {
  const linePrefix = linePrefixOf(ctx.prefix);
  if (linePrefix === '') return item;
  if (linePrefix.trim() === '') {
    return item.startsWith(linePrefix) ? item.slice(linePrefix.length) : item;
  }
  if (/[ \t]$/.test(linePrefix)) return item.replace(/^[ \t]+/, '');
  return item;
};
