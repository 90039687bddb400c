// Prompt lookup: the next tokens guessed from the sequence's own tokens. The last few tokens are
// looked for earlier in the sequence (the prompt, and the answer so far); what followed them there
// is the draft. Pure: the model checks every drafted token, so a bad guess costs time, never text.

export interface LookupOptions {
  /** The fewest trailing tokens that must match; one token matches too often to be worth a batch. */
  minMatch: number;
  /** The most trailing tokens compared; the longest match wins. */
  maxMatch: number;
  /** The most tokens drafted at once. */
  maxDraft: number;
}

// Short drafts: on a CPU a decode batch costs nearly its length in compute, so a long draft that
// is refused early costs more than it could save (bench/lookup.ts: 8-token drafts at 10%
// acceptance made generation 0.7x as fast on the large generated model).
export const defaultLookupOptions: LookupOptions = { minMatch: 3, maxMatch: 8, maxDraft: 4 };

/**
 * The draft after `tokens`: what followed the latest earlier occurrence of their longest matching
 * tail. A match that runs into the end (a loop) goes on with its own draft, so a repeating
 * stretch is drafted whole. Empty when nothing matches.
 */
export function lookupDraft(tokens: readonly number[], options: LookupOptions = defaultLookupOptions): number[] {
  const end = tokens.length;
  let bestStart = -1;
  let bestLength = 0;
  // Latest occurrence first; among them the longest tail.
  for (let at = end - 2; at >= 0 && bestLength < options.maxMatch; at--) {
    // The occurrence ends at `at` (inclusive) and is followed by tokens[at + 1], so at < end - 1.
    let length = 0;
    while (length < options.maxMatch && at - length >= 0 && tokens[at - length] === tokens[end - 1 - length]) length++;
    if (length >= options.minMatch && length > bestLength) {
      bestLength = length;
      bestStart = at + 1;
    }
  }
  if (bestStart < 0) return [];
  const draft: number[] = [];
  for (let k = 0; k < options.maxDraft; k++) {
    const from = bestStart + k;
    draft.push(from < end ? tokens[from] : draft[from - end]);
  }
  return draft;
}
