// Derives the ModelStatus that the client renders, from the gate and the model driver. Touches
// nothing native, so it can be answered while asleep.
import type { ModelStatus, WorkspaceIndexStatus } from '../shared/protocol';
import type { Settings } from '../shared/settings';
import type { ResumeGate } from './gate';
import type { ModelDriver } from './modelDriver';
import { judgePace } from './completionPace';

export interface StatusSources {
  gate: ResumeGate;
  driver: ModelDriver;
  settings: Settings;
  /** Sentences about rejected settings or a model that could not be switched to. */
  problems: readonly string[];
  /** The workspace index's progress, when the server has one. */
  index?: WorkspaceIndexStatus | null;
}

export function buildStatus({ gate, driver, settings, problems, index }: StatusSources): ModelStatus {
  const snap = gate.snapshot();
  const { stats } = driver;
  const info = driver.info;
  const vram = driver.vram();
  // With a shared host the host keeps the idle time of every window; the gate's own is off.
  const idleMs = snap.idleMsLeft ?? (snap.state === 'ready' ? driver.idleMsLeft() : null);
  const notices = [driver.notice, ...problems].filter((n): n is string => !!n);
  return {
    state: snap.state,
    error: snap.error,
    notice: notices.length ? notices.join(' ') : null,
    model: info,
    chatModel: driver.chatInfo,
    sleepMode: settings.sleepMode,
    idleSecondsLeft: idleMs === null ? null : Math.ceil(idleMs / 1000),
    asleepSince: snap.state === 'sleeping' ? stats.asleepSince : null,
    lastSleepFreed: stats.lastSleepFreed,
    inFlight: snap.inFlight,
    completionsEnabled: settings.completion.enabled && (info?.hasFim ?? true),
    memory: {
      serverRssBytes: process.memoryUsage().rss,
      hostRssBytes: driver.hostRssBytes(),
      hostBaselineRssBytes: driver.hostBaselineRssBytes,
      hostPid: driver.hostPid,
      vramUsedBytes: vram.used,
      vramTotalBytes: vram.total,
      standbyRssBytes: driver.standbyRssBytes(),
    },
    counters: stats.counters(),
    completions: stats.completions(),
    lastCompletion: stats.lastCompletion,
    lastChat: stats.lastChat,
    contextChunks: stats.contextChunks,
    engine: driver.engineStatus(),
    sharing: driver.sharing(),
    completionPace: judgePace(stats.recentCompletions, settings.completion.maxTokens),
    draftModel: driver.draftInfo,
    ...(index !== undefined ? { index } : {}),
  };
}
