// Which chunks of the context ring go into a completion prompt within the ring's token budget.
// Pure. The ring is kept oldest first and the newest chunks matter most, so the walk goes from
// the newest back, taking each chunk that still fits. A chunk that does not fit is passed over,
// not the end of the walk: one oversized chunk (45 KB of minified or CJK text, whose characters
// the server's ring counted at a few per token) must never push out all the others.

/**
 * The indices (ascending) of the chunks that fit. `costs[i]` is chunk i's tokens in the prompt;
 * `headerTokens` is the repository header, paid once whichever chunk comes first.
 */
export function ringChunksWithin(costs: readonly number[], headerTokens: number, budget: number): number[] {
  const kept: number[] = [];
  let total = headerTokens;
  for (let i = costs.length - 1; i >= 0; i--) {
    const cost = costs[i]!;
    if (total + cost > budget) continue;
    total += cost;
    kept.push(i);
  }
  return kept.reverse();
}
