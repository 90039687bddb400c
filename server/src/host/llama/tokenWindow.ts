// The FIM prompt as tokens: the text before the cursor line cut so it stays put while the user
// types, the cursor line and the suffix cut to their budgets by tokenizing only a window near the
// cursor, and the budgets fitted into the context. Used by the infill prompt (infillPrompt.ts).
import type { LlamaModel, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { isLowSurrogate } from '../../shared/text';
import type { InfillParams } from '../../engine/types';

export type Tokenize = (text: string) => Token[];

/** Text before the cursor line longer than this many characters per budgeted token is cut unseen: only its end can fit. */
export const maxCharsPerToken = 16;

/** A new cut keeps this share of the budget, so the lines typed below it fit without moving it. */
export const freshCutShare = 3 / 4;

export interface BeforeLineCut {
  tokens: Token[];
  /** The text the tokens are of (a suffix of the text given); pass it back as `previous` next time. */
  kept: string;
}

/**
 * The tokens of the text before the cursor line (whole lines) within `budget`. All of it when it
 * fits. Else it is cut at a line start, and the cut is sticky: while the text kept last time
 * (`previous`) is still in the text and still fits with what follows it, it is kept again, so
 * typing and Enter leave the prompt's front, and the KV cache of it, alone. A new cut keeps
 * `freshCutShare` of the budget, leaving room for the lines still to come.
 */
export function cutBeforeLine(tokenize: Tokenize, text: string, budget: number, previous: string | null): BeforeLineCut {
  if (budget <= 0 || text === '') return { tokens: [], kept: '' };
  // A huge text (a caller other than the server's window): bounded work, whatever its size.
  const cap = budget * maxCharsPerToken;
  if (text.length > cap) text = text.slice(lineStartFrom(text, text.length - cap));
  if (previous) {
    const at = text.lastIndexOf(previous);
    // At a line start only, and only while the text before it would not fit as well: the kept
    // text may come from another document, found inside this one by chance.
    if (at === 0 || (at > 0 && text.charCodeAt(at - 1) === 0x0a)) {
      const tokens = tokenize(text.slice(at));
      if (tokens.length <= budget && (at === 0 || !wholeFits(tokenize, text, at, budget, tokens.length))) {
        return { tokens, kept: text.slice(at) };
      }
    }
  }
  let start = 0;
  let tokens = tokenize(text);
  if (tokens.length <= budget) return { tokens, kept: text };
  const target = Math.max(1, Math.floor(budget * freshCutShare));
  while (tokens.length > target) {
    // Drop the share of characters that is over (at least one line), then count again.
    const over = (tokens.length - target) / tokens.length;
    const next = lineStartFrom(text, start + Math.max(1, Math.ceil((text.length - start) * over)));
    if (next >= text.length || text.charCodeAt(next - 1) !== 0x0a) {
      // No line start left (one huge line): its last tokens, and no cut to keep.
      return { tokens: tokens.slice(-target), kept: '' };
    }
    start = next;
    tokens = tokenize(text.slice(start));
  }
  return { tokens, kept: text.slice(start) };
}

/**
 * Whether the whole text fits in `budget`, given that the part from `at` takes `keptTokens`. The
 * whole is tokenized only when the part before `at` might fit (a token is at most
 * maxCharsPerToken characters), which a sticky cut of a long file never does.
 */
function wholeFits(tokenize: Tokenize, text: string, at: number, budget: number, keptTokens: number): boolean {
  if (at > (budget - keptTokens) * maxCharsPerToken) return false;
  return tokenize(text).length <= budget;
}

/** The first line start at or after `at`; else `at` itself, moved off a surrogate pair's second half. */
function lineStartFrom(text: string, at: number): number {
  if (at <= 0) return 0;
  if (text.charCodeAt(at - 1) === 0x0a) return at;
  const lineBreak = text.indexOf('\n', at);
  if (lineBreak >= 0) return lineBreak + 1;
  return isLowSurrogate(text.charCodeAt(at)) ? at + 1 : at;
}

/**
 * The last `count` tokens of `text`, tokenizing only a window near its end, so a 10 MB prefix
 * costs what a small one does. The window's first token may be half a word and is dropped.
 */
export function lastTokens(model: LlamaModel, text: string, count: number): Token[] {
  if (count <= 0 || text === '') return [];
  for (let window = count * 4; ; window *= 2) {
    if (window >= text.length) return model.tokenize(text, false, 'trimLeadingSpace').slice(-count);
    let start = text.length - window;
    if (isLowSurrogate(text.charCodeAt(start))) start++;
    const tokens = model.tokenize(text.slice(start), false, 'trimLeadingSpace').slice(1);
    if (tokens.length >= count) return tokens.slice(-count);
  }
}

/** The first `count` tokens of `text`; the window's last token may be cut and is dropped. */
export function firstTokens(model: LlamaModel, text: string, count: number): Token[] {
  if (count <= 0 || text === '') return [];
  for (let window = count * 4; ; window *= 2) {
    if (window >= text.length) return model.tokenize(text, false, 'trimLeadingSpace').slice(0, count);
    let end = window;
    if (isLowSurrogate(text.charCodeAt(end))) end++;
    const tokens = model.tokenize(text.slice(0, end), false, 'trimLeadingSpace').slice(0, -1);
    if (tokens.length >= count) return tokens.slice(0, count);
  }
}

/**
 * Prefix (with the cursor line), suffix and answer must fit the context together: overflowing it makes llama.cpp shift
 * the context on every token, which turns a millisecond answer into minutes.
 */
export function fitInfillBudget(
  contextSize: number,
  p: Pick<InfillParams, 'prefixTokens' | 'suffixTokens' | 'maxTokens'>,
): { prefixTokens: number; suffixTokens: number; maxTokens: number } {
  const reserve = 8; // FIM control tokens and BOS
  const maxTokens = Math.max(1, Math.min(p.maxTokens, Math.floor(contextSize / 4)));
  const room = contextSize - maxTokens - reserve;
  const wanted = p.prefixTokens + p.suffixTokens;
  if (wanted <= room) return { prefixTokens: p.prefixTokens, suffixTokens: p.suffixTokens, maxTokens };
  const suffixTokens = Math.floor((p.suffixTokens * room) / wanted);
  return { prefixTokens: room - suffixTokens, suffixTokens, maxTokens };
}
