// The text around the cursor that goes into a fill-in-the-middle request.
// The model host trims prefix and suffix to token budgets with the real tokenizer; here we only
// cut a character window generous enough for those budgets, in time and memory independent of
// the document's size: we slice, and never split or scan the whole text.
// The window is laid out so the model's KV cache survives typing: the text before the cursor
// line and the text after the cursor stay byte-identical while the user types along a line, and
// the window's start moves in coarse steps, to line starts, never with each keystroke.
import type { InfillParams } from '../engine/types';
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

/** The window's start moves in steps of this many characters (then on to a line start). */
export const windowStepChars = 2048;

/** Room kept in the prefix for the cursor line itself, so typing along it never moves the start. */
export const cursorLineReserveChars = 512;

export interface InfillWindow {
  /** Text before the cursor, at most `prefixChars` long, starting at a line start when one is near. */
  prefix: string;
  /** The part of `prefix` before the cursor line: unchanged while the user types along that line. */
  beforeLine: string;
  /** Text after the cursor, at most `suffixChars` long, ending after a line break when one is near. */
  suffix: string;
  /** Document offset where `prefix` starts. */
  prefixStart: number;
  /** Document offset where `suffix` ends. */
  suffixEnd: number;
  /** The cursor line's text before the cursor (cut if the line is longer than the window); `prefix` ends with it. */
  linePrefix: string;
  /** The cursor line's text after the cursor, without the line break. */
  lineSuffix: string;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`The infill window's ${name} must be a whole number of at least 0, not ${value}.`);
  }
}

/** The start of the cursor line, or null when none is within `maxBack` characters. */
function cursorLineStart(text: string, offset: number, maxBack: number): number | null {
  const from = Math.max(0, offset - maxBack);
  const lineBreak = text.slice(from, offset).lastIndexOf('\n');
  if (lineBreak >= 0) return from + lineBreak + 1;
  return from === 0 ? 0 : null;
}

/** A cut at `at` moved forward to the next line start when one is near, else off a surrogate pair's second half. */
function forwardToLineStart(text: string, at: number, limit: number): number {
  if (at === 0 || text.charCodeAt(at - 1) === 0x0a) return at;
  const lineBreak = text.slice(at, Math.min(limit, at + lineBoundaryScanChars)).indexOf('\n');
  if (lineBreak >= 0) return at + lineBreak + 1;
  return isLowSurrogate(text.charCodeAt(at)) ? at + 1 : at;
}

/**
 * Start of the prefix. The part before the cursor line starts at a multiple of the step (moved on
 * to a line start), chosen from the cursor line's start alone, so it stays put while the user types
 * along the line and moves only every few thousand characters as the user adds lines.
 */
function prefixStartFor(text: string, offset: number, prefixChars: number): number {
  const lineStart = cursorLineStart(text, offset, prefixChars);
  // A line longer than the window: only its end fits.
  if (lineStart === null) return forwardToLineStart(text, offset - prefixChars, offset);
  const reserve = Math.min(cursorLineReserveChars, Math.floor(prefixChars / 4));
  const beforeBudget = prefixChars - reserve;
  const step = Math.max(1, Math.min(windowStepChars, Math.floor(beforeBudget / 2)));
  const aligned = Math.max(0, Math.ceil((lineStart - beforeBudget) / step) * step);
  const start = Math.min(lineStart, forwardToLineStart(text, aligned, lineStart));
  // The cursor line gets what the part before it left; only a very long line is cut (at its start).
  return offset - start <= prefixChars ? start : forwardToLineStart(text, offset - prefixChars, offset);
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
  const linePrefix = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return {
    prefix,
    beforeLine: prefix.slice(0, prefix.length - linePrefix.length),
    suffix,
    prefixStart,
    suffixEnd,
    linePrefix,
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

export interface InfillLimits {
  maxTokens: number;
  maxLines: number;
  /** The time cap (completion.maxMs); absent: none. */
  maxMs?: number;
}

/** The model host's infill request for a window (the context ring is added by the caller). */
export function infillParamsFor(window: InfillWindow, limits: InfillLimits): Omit<InfillParams, 'context'> {
  return {
    prefix: window.beforeLine,
    middle: window.linePrefix,
    suffix: window.suffix,
    prefixTokens: defaultBudget.prefixTokens,
    suffixTokens: defaultBudget.suffixTokens,
    maxTokens: limits.maxTokens,
    maxLines: limits.maxLines,
    stopTexts: stopTextsFor(window.suffix),
    ...(limits.maxMs !== undefined ? { maxMs: limits.maxMs } : {}),
  };
}
