// Pure text helpers for both sides of the IPC: the completion prompt and the model host's token
// windows cut text by one rule, and the host's sentences shorten paths alike.

/** A UTF-16 low (trailing) surrogate: cutting just before it splits a character. */
export function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** A UTF-16 high (leading) surrogate: cutting just after it splits a character. */
export function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Index of the `n`th line break (1-based), or -1. */
export function nthNewline(text: string, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf('\n', at + 1);
    if (at < 0) return -1;
  }
  return at;
}

// An absolute POSIX or Windows path of two parts or more (not a URL, not "a/b"); the last part is kept.
const absolutePath = /(?<![\w:/\\])(?:[A-Za-z]:)?[\\/](?:[^\s'"`()<>:\\/]+[\\/])+([^\s'"`()<>:\\/]+)/g;

/** `text` with absolute file paths cut to their last part (a native build path means nothing to a user). */
export function shortenPaths(text: string): string {
  return text.replace(absolutePath, '$1');
}
