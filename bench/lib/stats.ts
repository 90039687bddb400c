// Order statistics for timing samples.

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

/** The nearest-rank percentile (0-100) of `samples`; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    min: n ? Math.min(...samples) : Number.NaN,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    max: n ? Math.max(...samples) : Number.NaN,
    mean: n ? samples.reduce((s, x) => s + x, 0) / n : Number.NaN,
  };
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Rounded for JSON: timings to 0.01 ms are noise anyway. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function roundSummary(s: Summary): Summary {
  return { n: s.n, min: round(s.min), p50: round(s.p50), p95: round(s.p95), max: round(s.max), mean: round(s.mean) };
}
