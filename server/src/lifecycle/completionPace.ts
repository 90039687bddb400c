// Whether completions are slow for this machine, from the last few the user waited for: their
// median time in the model, and how many were cut at localLlm.completion.maxMs. Pure: the stats
// object keeps the samples, the status carries the verdict, the client says what helps.
import { median } from '../shared/median';
import type { CompletionPace } from '../shared/protocol';

export interface PaceSample {
  /** Time in the model host, prompt evaluation included. */
  ms: number;
  /** Cut at localLlm.completion.maxMs. */
  capped: boolean;
}

export const paceTuning = {
  /** The most recent completions judged. */
  window: 10,
  /** Fewer than this and nothing is said: one slow first completion (a cold cache) proves little. */
  minSamples: 3,
  /** A median above this is slow. */
  slowP50Ms: 2000,
} as const;

/** Keeps the last `paceTuning.window` samples, oldest first. */
export function addPaceSample(samples: PaceSample[], sample: PaceSample): void {
  samples.push(sample);
  if (samples.length > paceTuning.window) samples.splice(0, samples.length - paceTuning.window);
}

/** The pace of the recent completions, slow when their median passes 2 s or most were capped; null with too few. */
export function judgePace(samples: readonly PaceSample[], maxTokens: number): CompletionPace | null {
  const recent = samples.slice(-paceTuning.window);
  const p50Ms = median(recent.map((s) => s.ms));
  if (p50Ms === null || recent.length < paceTuning.minSamples) return null;
  const capped = recent.filter((s) => s.capped).length;
  return { samples: recent.length, p50Ms, capped, slow: p50Ms > paceTuning.slowP50Ms || capped * 2 > recent.length, maxTokens };
}
