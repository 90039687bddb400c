// What every benchmark gets from the runner, and what it gives back for the summary table.
import type { BenchModel } from './benchModel';

export interface BenchContext {
  tinyModel: string;
  /**
   * The model the benchmarks measure (model.path): the large generated test model, or the
   * shape-true model the runner was given (--shape). Named for the first; kept for the scripts
   * that read it.
   */
  largeModel: string;
  model: BenchModel;
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

/**
 * Repetitions: `full`, `quick` for a smoke run, and `shaped` (when given) with a shape-true model,
 * whose every token costs 10 to 20 times the large test model's on this CPU.
 */
export const count = (ctx: BenchContext, full: number, quick: number, shaped?: number): number =>
  ctx.quick ? quick : ctx.model.shape !== null && shaped !== undefined ? shaped : full;
