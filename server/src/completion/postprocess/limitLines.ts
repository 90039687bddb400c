// Keeps at most `maxLines` lines; the host stops near there too, but a stop text or the last
// token can leave a little more.
import type { Filter } from './filter';
import { joinLines, splitLines } from './lines';

export const limitLines: Filter = (item, ctx) => {
  const maxLines = Math.max(1, Math.floor(ctx.maxLines));
  const lines = splitLines(item);
  return lines.length <= maxLines ? item : joinLines(lines.slice(0, maxLines));
};
