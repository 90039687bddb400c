// What every benchmark gets from the runner, and what it gives back for the summary table.

export interface BenchContext {
  tinyModel: string;
  largeModel: string;
  /** Why a cold page cache cannot be measured here; null when it can. */
  pageCacheProblem: string | null;
  /** Scales repetition counts down (BENCH_QUICK=1) for a smoke run of the scripts. */
  quick: boolean;
}

/** One figure against its target, for the summary table. */
export interface Verdict {
  figure: string;
  value: string;
  target: string;
  /** null: a figure without a target. */
  met: boolean | null;
}

export interface BenchOutcome {
  name: string;
  file: string;
  verdicts: Verdict[];
}

export const count = (ctx: BenchContext, full: number, quick: number): number => (ctx.quick ? quick : full);
