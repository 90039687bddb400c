// Derives the ModelStatus that the client renders, from the gate, the model service and the
// counters. Touches nothing native, so it can be answered while asleep.
import type { CompletionCounters, ModelStatus } from '../shared/protocol';
import type { ResumeGate } from './gate';
import type { ModelService } from './modelDriver';
import type { Settings } from '../shared/settings';

export interface WakeCounters {
  sleeps: number;
  wakes: number;
  lastWakeMs: number | null;
  asleepSince: number | null;
}

/** Counts sleeps and wakes from the gate's state changes, timing each wake. */
export class WakeTracker implements WakeCounters {
  sleeps = 0;
  wakes = 0;
  lastWakeMs: number | null = null;
  asleepSince: number | null = null;
  private previous: string | null = null;
  private wakeStarted: number | null = null;

  observe(state: string, now: number): void {
    if (state === this.previous) return;
    if (state === 'sleeping' && this.previous !== null) {
      this.sleeps++;
      this.asleepSince = now;
    }
    if (state === 'waking') this.wakeStarted = now;
    if (state === 'ready' && this.previous === 'waking' && this.wakeStarted !== null) {
      this.wakes++;
      this.lastWakeMs = now - this.wakeStarted;
      this.wakeStarted = null;
    }
    if (state !== 'sleeping') this.asleepSince = null;
    this.previous = state;
  }
}

export interface StatusSources {
  gate: ResumeGate;
  model: ModelService;
  settings: Settings;
  wakes: WakeCounters;
  completions: CompletionCounters;
  /** Sentences about rejected settings or a model that could not be switched to. */
  problems: readonly string[];
}

export function buildStatus({ gate, model, settings, wakes, completions, problems }: StatusSources): ModelStatus {
  const snap = gate.snapshot();
  const info = model.info;
  const vram = model.vram();
  const idleMs = snap.idleMsLeft;
  const notices = [model.notice, ...problems].filter((n): n is string => !!n);
  return {
    state: snap.state,
    error: snap.error,
    notice: notices.length ? notices.join(' ') : null,
    model: info
      ? {
          name: info.name,
          path: info.path,
          sizeBytes: info.sizeBytes,
          backend: info.backend,
          gpuLayers: info.gpuLayers,
          totalLayers: info.totalLayers,
          contextSize: info.contextSize,
          hasFim: info.hasFim,
        }
      : null,
    sleepMode: settings.sleepMode,
    idleSecondsLeft: idleMs === null ? null : Math.ceil(idleMs / 1000),
    asleepSince: snap.state === 'sleeping' ? wakes.asleepSince : null,
    lastSleepFreed: model.lastSleepFreed,
    inFlight: snap.inFlight,
    completionsEnabled: settings.completion.enabled && (info?.hasFim ?? true),
    memory: {
      serverRssBytes: process.memoryUsage().rss,
      hostRssBytes: model.hostRssBytes(),
      hostBaselineRssBytes: model.hostBaselineRssBytes,
      hostPid: model.hostPid,
      vramUsedBytes: vram.used,
      vramTotalBytes: vram.total,
    },
    counters: {
      loads: model.loads,
      sleeps: wakes.sleeps,
      wakes: wakes.wakes,
      hostCrashes: model.hostCrashes,
      lastLoadMs: model.lastLoadMs,
      lastWakeMs: wakes.lastWakeMs,
    },
    completions: { ...completions },
  };
}
