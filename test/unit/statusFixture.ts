// One ModelStatus for the tooltip and status-bar tests: every field the protocol requires, at a
// plain value (ready, no model, nothing in flight); each test overrides what it is about.
import type { MemoryInfo, ModelStatus } from '../../server/src/shared/protocol';

export const MB = 1024 * 1024;
export const GB = 1024 * MB;

/** The memory of a window with no model host of its own (a server engine, or the host gone). */
export const noHostMemory: MemoryInfo = {
  serverRssBytes: 80 * MB,
  hostRssBytes: null,
  hostBaselineRssBytes: null,
  hostPid: null,
  vramUsedBytes: null,
  vramTotalBytes: null,
};

/** The status with `over` applied; `memory` is merged field by field. */
export function modelStatus(over: Partial<Omit<ModelStatus, 'memory'>> & { memory?: Partial<MemoryInfo> } = {}): ModelStatus {
  const { memory, ...rest } = over;
  return {
    state: 'ready',
    error: null,
    notice: null,
    model: null,
    sleepMode: 'deep',
    idleSecondsLeft: null,
    asleepSince: null,
    lastSleepFreed: null,
    inFlight: 0,
    completionsEnabled: true,
    counters: { loads: 1, sleeps: 0, wakes: 0, hostCrashes: 0, lastLoadMs: 1234, lastWakeMs: null },
    completions: { requests: 0, generated: 0, cacheHits: 0, superseded: 0 },
    lastCompletion: null,
    lastChat: null,
    contextChunks: 0,
    ...rest,
    memory: { ...noHostMemory, ...memory },
  };
}
