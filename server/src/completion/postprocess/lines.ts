// Line helpers for the filters. Splitting on '\n' and joining with '\n' is lossless, so a
// completion with CRLF keeps its '\r's; comparisons ignore them with trimEnd.

export function splitLines(text: string): string[] {
  return text.split('\n');
}

export function joinLines(lines: readonly string[]): string {
  return lines.join('\n');
}

/** The cursor line's text before the cursor: the prefix after its last line break. */
export function linePrefixOf(prefix: string): string {
  return prefix.slice(prefix.lastIndexOf('\n') + 1);
}

/** The rest of the cursor line: the suffix up to its first line break, without the break. */
export function lineSuffixOf(suffix: string): string {
  const lineBreak = suffix.indexOf('\n');
  return (lineBreak < 0 ? suffix : suffix.slice(0, lineBreak)).replace(/\r$/, '');
}

/**
 * Up to `count` non-blank lines after the cursor line, trailing whitespace removed.
 * Reads the suffix line by line, so only as much is scanned as is needed.
 */
export function nextNonBlankLines(suffix: string, count: number): string[] {
  const found: string[] = [];
  let start = suffix.indexOf('\n') + 1;
  if (start === 0) return found;
  while (found.length < count && start < suffix.length) {
    const lineBreak = suffix.indexOf('\n', start);
    const end = lineBreak < 0 ? suffix.length : lineBreak;
    const line = suffix.slice(start, end).trimEnd();
    if (line !== '') found.push(line);
    if (lineBreak < 0) break;
    start = lineBreak + 1;
  }
  return found;
}

export function isBlank(text: string): boolean {
  return text.trim() === '';
}
