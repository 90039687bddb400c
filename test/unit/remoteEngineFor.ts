// The model-server engine as the unit tests drive it: pointed at a replay or stand-in server, every
// notification kept, and the request and load they send (a model server ignores the load's figures).
import { RemoteEngine, RemoteSession } from '../../server/src/engine/http/remoteEngine';
import type { InfillParams, LoadParams } from '../../server/src/engine/types';
import type { Clock } from '../../server/src/shared/clock';
import { normalizeSettings, type Settings } from '../../server/src/shared/settings';

export const remoteInfill: InfillParams = {
  prefix: 'function add(a, b) {\n',
  middle: '  return ',
  suffix: '\n}\n',
  prefixTokens: 1024,
  suffixTokens: 256,
  maxTokens: 16,
  maxLines: 4,
  stopTexts: ['}'],
};

export const remoteLoad: LoadParams = { modelPath: '', gpu: 'auto', gpuLayers: 'auto', contextSize: 4096, threads: 1 };

export interface RemoteEngineOptions {
  /** Raw localLlm settings over `{ engine: url, sleepIdleSeconds: 300 }`. */
  settings?: Record<string, unknown>;
  /** 'k-123' unless given; null sends no bearer token. */
  apiKey?: string | null;
  /** The status poll's period: 60 s unless given, longer than the tests. */
  pollMs?: number;
  clock?: Clock;
}

export interface RemoteTestEngine {
  engine: RemoteEngine;
  /** Every notification the engine gave, in order. */
  notified: string[];
  settings: Settings;
}

export function remoteEngineFor(url: string, options: RemoteEngineOptions = {}): RemoteTestEngine {
  const settings = normalizeSettings({ engine: url, sleepIdleSeconds: 300, ...options.settings }).settings;
  const notified: string[] = [];
  const apiKey = options.apiKey === undefined ? 'k-123' : options.apiKey;
  const engine = new RemoteEngine({
    session: new RemoteSession(settings.engine),
    settings: () => settings,
    apiKey: () => apiKey,
    log: () => undefined,
    onChange: () => undefined,
    notify: (s) => notified.push(s),
    confirmPlainHttp: () => Promise.resolve(false),
    pollMs: options.pollMs ?? 60_000,
    clock: options.clock,
  });
  return { engine, notified, settings };
}
