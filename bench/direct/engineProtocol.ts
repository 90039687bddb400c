// Messages between a benchmark and the direct engine: node-llama-cpp in a plain Node process of
// its own, with no language server, gate or model host in between. The baseline of every figure.
import type { GpuChoice } from '../../server/src/shared/settings';

export interface EngineLoadParams {
  modelPath: string;
  gpu: GpuChoice;
  gpuLayers: 'auto' | number;
  contextSize: number;
  threads: number;
}

/** The same fields the model host takes, so both sides get one prompt. */
export interface EngineInfillParams {
  prefix: string;
  suffix: string;
  prefixTokens: number;
  suffixTokens: number;
  maxTokens: number;
  maxLines: number;
  stopTexts: string[];
}

export interface EngineChatMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

export type EngineCommand =
  | { op: 'load'; params: EngineLoadParams }
  | { op: 'unload' }
  | { op: 'infill'; params: EngineInfillParams }
  /** Load, context and the first infill, timed as one (an in-process wake). */
  | { op: 'wakeInfill'; load: EngineLoadParams; infill: EngineInfillParams }
  /** One chat answer, stopped (as the Stop button does) after `stopAfterChunks` streamed pieces. */
  | { op: 'chat'; messages: EngineChatMessage[]; maxTokens: number; stopAfterChunks: number }
  | { op: 'saveState'; file: string }
  | { op: 'loadState'; file: string }
  | { op: 'stats' }
  | { op: 'exit' };

export interface EngineInfillResult {
  text: string;
  stopReason: string;
  tokens: number;
  /** Prefix and suffix token counts actually sent, to check both sides built one prompt. */
  promptTokens: number;
  ms: number;
}

export interface EngineTimings {
  importMs: number | null;
  getLlamaMs: number | null;
  loadModelMs: number;
  createContextMs: number;
}

export interface EngineStats {
  rssBytes: number;
  vramUsedBytes: number | null;
  backend: string | null;
}

export type EngineReply =
  | { op: 'load'; timings: EngineTimings }
  | { op: 'unload'; stats: EngineStats }
  | { op: 'infill'; result: EngineInfillResult }
  | { op: 'wakeInfill'; timings: EngineTimings; result: EngineInfillResult; totalMs: number }
  | { op: 'chat'; firstChunkMs: number | null; totalMs: number; text: string }
  | { op: 'saveState'; ms: number; bytes: number }
  | { op: 'loadState'; ms: number }
  | { op: 'stats'; stats: EngineStats }
  | { op: 'error'; message: string };
