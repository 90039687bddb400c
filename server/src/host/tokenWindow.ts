// The FIM prompt as tokens: prefix and suffix cut to their budgets by tokenizing only a window
// near the cursor, and the budgets fitted into the context. Used by the engine (engine.ts).
import type { LlamaModel, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { isLowSurrogate } from '../shared/text';
import type { InfillParams } from './protocol';

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
 * Prefix, suffix and answer must fit the context together: overflowing it makes llama.cpp shift
 * the context on every token, which turns a millisecond answer into minutes.
 */
export function fitInfillBudget(contextSize: number, p: Pick<InfillParams, 'prefixTokens' | 'suffixTokens' | 'maxTokens'>): { prefixTokens: number; suffixTokens: number; maxTokens: number } {
  const reserve = 8; // FIM control tokens and BOS
  const maxTokens = Math.max(1, Math.min(p.maxTokens, Math.floor(contextSize / 4)));
  const room = contextSize - maxTokens - reserve;
  const wanted = p.prefixTokens + p.suffixTokens;
  if (wanted <= room) return { prefixTokens: p.prefixTokens, suffixTokens: p.suffixTokens, maxTokens };
  const suffixTokens = Math.floor((p.suffixTokens * room) / wanted);
  return { prefixTokens: room - suffixTokens, suffixTokens, maxTokens };
}
