// The wait before a completion asks the model, following the user rather than a fixed number:
// while they type in a steady rhythm, a little longer than their usual gap between keystrokes (so
// a keystroke mid-word supersedes the wait instead of starting a generation that is thrown away),
// never shorter than the setting; on the first keystroke after a pause, short; and longer when the
// model is slow, since every wasted request then costs more. `localLlm.completion.debounceMs` is the base, and bounds it.
// Pure: time is passed in, and it holds no timer.
import { median } from '../shared/median';

export const debounceTuning = {
  /** Gaps between keystrokes kept to learn the user's rhythm. */
  historySize: 20,
  /** Fewer gaps than this and the setting is used as it is. */
  minSamples: 4,
  /** A longer gap is a pause, not part of the rhythm. */
  pauseMs: 1000,
  /** While typing: wait this many times the user's usual gap. */
  rhythmFactor: 1.5,
  /** A model this slow (median ms per completion) or slower adds the most. */
  slowModelMs: 2000,
  /** The most a slow model stretches the wait: times this. */
  slowModelFactor: 1.5,
  /** The wait never passes this much times the setting, nor 1 s unless the setting itself does. */
  ceilingFactor: 3,
  ceilingMs: 1000,
  /** The wait never drops under this share of the setting. */
  floorFactor: 0.5,
} as const;

export interface DebounceBounds {
  floorMs: number;
  ceilingMs: number;
}

/** Half the setting to three times it (at most 1 s, or the setting when that is longer); 0 stays 0. */
export function debounceBounds(settingMs: number): DebounceBounds {
  const base = Math.max(0, settingMs);
  const { floorFactor, ceilingFactor, ceilingMs } = debounceTuning;
  return { floorMs: base * floorFactor, ceilingMs: Math.max(base, Math.min(base * ceilingFactor, ceilingMs)) };
}

export class AdaptiveDebounce {
  private lastKeystroke: number | null = null;
  /** The gap before the last keystroke; Infinity before the first. */
  private lastGap = Infinity;
  private readonly gaps: number[] = [];

  /** A keystroke (a completion request) at `now`, in ms of a monotonic clock. */
  keystroke(now: number): void {
    const gap = this.lastKeystroke === null ? Infinity : Math.max(0, now - this.lastKeystroke);
    this.lastKeystroke = now;
    this.lastGap = gap;
    if (gap > debounceTuning.pauseMs) return;
    this.gaps.push(gap);
    if (this.gaps.length > debounceTuning.historySize) this.gaps.shift();
  }

  /** The user's usual gap between keystrokes while typing; null until enough were seen. */
  typicalGapMs(): number | null {
    return this.gaps.length < debounceTuning.minSamples ? null : median(this.gaps);
  }

  /**
   * The wait after the last keystroke, for a setting of `settingMs` and a model whose recent
   * completions took `modelLatencyMs` (median; null when none ran yet).
   */
  waitMs(settingMs: number, modelLatencyMs: number | null): number {
    if (settingMs <= 0) return 0;
    const { floorMs, ceilingMs } = debounceBounds(settingMs);
    const typical = this.typicalGapMs();
    let wait: number;
    if (this.lastGap > debounceTuning.pauseMs) wait = floorMs;
    else if (typical === null) wait = settingMs;
    // While typing, never shorter than the setting: a fast typist's keys each supersede the wait as they do today.
    else wait = Math.max(settingMs, typical * debounceTuning.rhythmFactor);
    wait *= slowModelStretch(modelLatencyMs);
    return Math.round(Math.min(ceilingMs, Math.max(floorMs, wait)));
  }
}

/** 1 for an instant model, rising to `slowModelFactor` for one at `slowModelMs` or slower. */
function slowModelStretch(latencyMs: number | null): number {
  if (latencyMs === null || !(latencyMs > 0)) return 1;
  const { slowModelMs, slowModelFactor } = debounceTuning;
  return 1 + (slowModelFactor - 1) * Math.min(1, latencyMs / slowModelMs);
}
