// Fuzzy filtering for the mention picker: the query's characters in order, anywhere in the
// candidate, scored so that runs, word starts and the file's own name rank first. Pure.

function isWordStart(text: string, i: number): boolean {
  if (i === 0) return true;
  const prev = text[i - 1];
  if (/[\\/._\-\s:#]/.test(prev)) return true;
  // camelCase: a capital after a lower-case letter.
  return /[a-z0-9]/.test(prev) && /[A-Z]/.test(text[i]);
}

/** A score (higher is better) when every character of `query` occurs in order in `candidate`; null otherwise. */
export function fuzzyScore(query: string, candidate: string): number | null {
  const q = query.toLowerCase();
  if (q === '') return 0;
  const lower = candidate.toLowerCase();
  // The file name is worth more than the folders above it.
  const nameStart = Math.max(candidate.lastIndexOf('/'), candidate.lastIndexOf('\\')) + 1;
  let score = 0;
  let from = 0;
  let previous = -2;
  for (const ch of q) {
    let at = lower.indexOf(ch, from);
    if (at < 0) return null;
    // Prefer a word start further on over a mid-word hit, when there is one before the next run.
    if (at !== previous + 1) {
      for (let k = at; k < lower.length; k++) {
        if (lower[k] === ch && isWordStart(candidate, k)) {
          at = k;
          break;
        }
      }
    }
    score += 1;
    if (at === previous + 1) score += 5;
    if (isWordStart(candidate, at)) score += 3;
    if (at >= nameStart) score += 2;
    previous = at;
    from = at + 1;
  }
  if (lower.slice(nameStart).startsWith(q)) score += 10;
  // Between equals, the shorter candidate is the closer one.
  return score - candidate.length / 1000;
}

/** The candidates that match, best first (ties keep their order), at most `limit`. */
export function fuzzyFilter<T>(query: string, items: readonly T[], text: (item: T) => string, limit = 50): T[] {
  const scored: Array<{ item: T; score: number; index: number }> = [];
  items.forEach((item, index) => {
    const score = fuzzyScore(query, text(item));
    if (score !== null) scored.push({ item, score, index });
  });
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, limit).map((s) => s.item);
}
