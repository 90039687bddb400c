// The text around the cursor that goes into a fill-in-the-middle request.
// The model host trims prefix and suffix to token budgets with the real tokenizer; here we only
// cut a character window generous enough for those budgets, in time and memory independent of
// the document's size: we slice, and never split or scan the whole text.
import { isHighSurrogate, isLowSurrogate } from '../shared/text';

export interface InfillBudget {
  prefixTokens: number;
  suffixTokens: number;
}

/**
 * Characters sent per budgeted token. Code averages 3 to 4 characters a token; 6 leaves room for
 * long identifiers and whitespace runs, and the host cuts the excess precisely.
 */
export const charsPerTokenCeiling = 6;

export interface InfillWindowOptions {
  prefixChars: number;
  suffixChars: number;
}

export function windowOptionsFor(budget: InfillBudget): InfillWindowOptions {
  return {
    prefixChars: budget.prefixTokens * charsPerTokenCeiling,
    suffixChars: budget.suffixTokens * charsPerTokenCeiling,
  };
}

const defaultTokens: InfillBudget = { prefixTokens: 1024, suffixTokens: 256 };

/** Tokens the host keeps before and after the cursor, and the character window cut for them. */
export const defaultBudget: InfillBudget & InfillWindowOptions = { ...defaultTokens, ...windowOptionsFor(defaultTokens) };

/** How far from a cut we look for a line break to cut at instead; bounds the work on one-line files. */
export const lineBoundaryScanChars = 1000;

export interface InfillWindow {
  /** Text before the cursor, at most `prefixChars` long, starting at a line start when one is near. */
  prefix: string;
  /** Text after the cursor, at most `suffixChars` long, ending after a line break when one is near. */
  suffix: string;
  /** Document offset where `prefix` starts. */
  prefixStart: number;
  /** Document offset where `suffix` ends. */
  suffixEnd: number;
  /** The cursor line's text before the cursor (cut if the line is longer than the window). */
  linePrefix: string;
  /** The cursor line's text after the cursor, without the line break. */
  lineSuffix: string;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`The infill window's ${name} must be a whole number of at least 0, not ${value}.`);
  }
}

/** Start of the prefix: `offset - prefixChars`, moved forward to the next line start when it is close. */
function prefixStartFor(text: string, offset: number, prefixChars: number): number {
  let start = Math.max(0, offset - prefixChars);
  if (start === 0 || text.charCodeAt(start - 1) === 0x0a) return start;
  const scanEnd = Math.min(offset, start + lineBoundaryScanChars);
  const lineBreak = text.slice(start, scanEnd).indexOf('\n');
  if (lineBreak >= 0) return start + lineBreak + 1;
  // No line start near: cut mid-line, but never between the halves of a surrogate pair.
  if (isLowSurrogate(text.charCodeAt(start))) start += 1;
  return start;
}

/** End of the suffix: `offset + suffixChars`, moved back to just after a line break when one is close. */
function suffixEndFor(text: string, offset: number, suffixChars: number): number {
  let end = Math.min(text.length, offset + suffixChars);
  if (end === text.length || text.charCodeAt(end - 1) === 0x0a) return end;
  const scanStart = Math.max(offset, end - lineBoundaryScanChars);
  const lineBreak = text.slice(scanStart, end).lastIndexOf('\n');
  if (lineBreak >= 0) return scanStart + lineBreak + 1;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return end;
}

/**
 * Cut the prefix and suffix around `offset` (a UTF-16 offset, as TextDocument.offsetAt gives).
 * Throws a RangeError with a sentence when the offset or the sizes are not usable.
 */
export function buildInfillWindow(text: string, offset: number, opts: InfillWindowOptions = defaultBudget): InfillWindow {
  if (!Number.isInteger(offset) || offset < 0 || offset > text.length) {
    throw new RangeError(`The cursor offset ${offset} is outside the document, which has ${text.length} characters.`);
  }
  checkCount('prefixChars', opts.prefixChars);
  checkCount('suffixChars', opts.suffixChars);

  const prefixStart = prefixStartFor(text, offset, opts.prefixChars);
  const suffixEnd = suffixEndFor(text, offset, opts.suffixChars);
  const prefix = text.slice(prefixStart, offset);
  const suffix = text.slice(offset, suffixEnd);
  const lineBreakAfter = suffix.indexOf('\n');
  const lineSuffix = (lineBreakAfter < 0 ? suffix : suffix.slice(0, lineBreakAfter)).replace(/\r$/, '');
  return {
    prefix,
    suffix,
    prefixStart,
    suffixEnd,
    linePrefix: prefix.slice(prefix.lastIndexOf('\n') + 1),
    lineSuffix,
  };
}

export interface StopTextOptions {
  /** A trimmed line shorter than this says too little to stop on (a lone `}` also closes the model's own blocks). */
  minChars: number;
  /** Longer lines are cut to this many characters: their start is specific enough. */
  maxChars: number;
}

export const defaultStopTextOptions: StopTextOptions = { minChars: 6, maxChars: 64 };

/** How much of the suffix is looked at for its next lines. */
const stopTextScanChars = 4000;

/**
 * Texts at which generation stops because the model has begun repeating what already follows the
 * cursor: the rest of the cursor line and the first non-blank line after it, trimmed, when each
 * is long enough to mean something.
 */
export function stopTextsFor(suffix: string, opts: StopTextOptions = defaultStopTextOptions): string[] {
  const lines = suffix.slice(0, stopTextScanChars).split('\n');
  const candidates: string[] = [lines[0] ?? ''];
  const nextLine = lines.slice(1).find((line) => line.trim() !== '');
  if (nextLine !== undefined) candidates.push(nextLine);

  const texts: string[] = [];
  for (const candidate of candidates) {
    const trimmed = candidate.trim();
    if (trimmed.length < opts.minChars) continue;
    let text = trimmed.slice(0, opts.maxChars);
    if (isHighSurrogate(text.charCodeAt(text.length - 1))) text = text.slice(0, -1);
    if (!texts.includes(text)) texts.push(text);
  }
  return texts;
}
