// Whether a document is worth completing at all: binary files and minified lines give the model
// nothing to work with and cost a full prompt. Only a small sample near the cursor is read, so a
// 10 MB file is judged as fast as a small one.

export type GuardResult = { ok: true } | { ok: false; reason: string };

export interface GuardOptions {
  /** A cursor line longer than this is taken for minified or generated code. */
  maxLineChars: number;
  /** Characters sampled around the cursor (half before, half after). */
  sampleChars: number;
  /** Characters sampled at the start of the file, where binary formats put their headers. */
  headChars: number;
  /** Share of control characters in the sample above which the text is taken for binary. */
  maxControlShare: number;
}

export const defaultGuardOptions: GuardOptions = {
  maxLineChars: 10_000,
  sampleChars: 4096,
  headChars: 512,
  maxControlShare: 0.1,
};

/** C0 and C1 controls other than tab, line feed, vertical tab, form feed and carriage return; and U+FFFD, what undecodable bytes become. */
function isSuspicious(code: number): boolean {
  if (code < 0x20) return code !== 0x09 && code !== 0x0a && code !== 0x0b && code !== 0x0c && code !== 0x0d;
  return (code >= 0x7f && code <= 0x9f) || code === 0xfffd;
}

function sampleOf(text: string, offset: number, opts: GuardOptions): string {
  const half = Math.floor(opts.sampleChars / 2);
  const start = Math.max(0, offset - half);
  const end = Math.min(text.length, offset + half);
  const near = text.slice(start, end);
  // The head is added only when it is not already part of the sample.
  return start > 0 ? text.slice(0, Math.min(opts.headChars, start)) + near : near;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** Line length at `offset`, counting at most `limit + 1` characters in total. */
function cursorLineLength(text: string, offset: number, limit: number): number {
  const before = text.slice(Math.max(0, offset - limit - 1), offset);
  const startInBefore = before.lastIndexOf('\n') + 1;
  const after = text.slice(offset, offset + limit + 1);
  const endInAfter = after.indexOf('\n');
  const lengthAfter = endInAfter < 0 ? after.length : endInAfter;
  return before.length - startInBefore + lengthAfter;
}

export function checkDocument(text: string, offset: number, opts: GuardOptions = defaultGuardOptions): GuardResult {
  if (!Number.isInteger(offset) || offset < 0 || offset > text.length) {
    return { ok: false, reason: `The cursor offset ${offset} is outside the document, which has ${text.length} characters.` };
  }

  const sample = sampleOf(text, offset, opts);
  if (sample.includes('\0')) {
    return { ok: false, reason: 'This file looks binary (it has NUL characters), so inline completion is off for it.' };
  }
  let suspicious = 0;
  for (let i = 0; i < sample.length; i++) {
    if (isSuspicious(sample.charCodeAt(i))) suspicious += 1;
  }
  const share = sample.length === 0 ? 0 : suspicious / sample.length;
  if (share > opts.maxControlShare) {
    return {
      ok: false,
      reason: `This file looks binary (${percent(share)} of the characters near the cursor are control characters), so inline completion is off for it.`,
    };
  }

  const lineLength = cursorLineLength(text, offset, opts.maxLineChars);
  if (lineLength > opts.maxLineChars) {
    return {
      ok: false,
      reason: `The line at the cursor is longer than ${opts.maxLineChars} characters (minified or generated code?), so inline completion is off there.`,
    };
  }
  return { ok: true };
}
