// Removes trailing spaces from every line and blank lines at the end: ghost text that ends in
// whitespace only moves the cursor somewhere odd when accepted.
import type { Filter } from './filter';
import { splitLines } from './lines';

export const trimTrailingWhitespace: Filter = (item) => {
  const lineBreak = item.includes('\r\n') ? '\r\n' : '\n';
  const lines = splitLines(item).map((line) => line.trimEnd());
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.join(lineBreak);
};
