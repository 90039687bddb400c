// Messages between a benchmark and the direct engine: the model host's own engine module
// (server/src/host/llama/llamaEngine.ts) in a plain Node process of its own, with no language server, gate
// or IPC layer in between. The baseline of every figure.
import type { HostChatMessage, InfillParams, LoadParams, SaveStateResult } from '../../server/src/engine/types';
import type { SequenceKind } from '../../server/src/shared/stateFiles';

/** The model host's own parameters, so both sides load and prompt alike. */
export type EngineLoadParams = LoadParams;
export type EngineInfillParams = InfillParams;
export type EngineChatMessage = HostChatMessage;

export type EngineCommand =
  | { op: 'load'; params: EngineLoadParams }
  | { op: 'unload' }
  | { op: 'infill'; params: EngineInfillParams }
  /** Load, context and the first infill, timed as one (an in-process wake). */
  | { op: 'wakeInfill'; load: EngineLoadParams; infill: EngineInfillParams }
  /** One chat answer, stopped (as the Stop button does) after `stopAfterChunks` streamed pieces. */
  | { op: 'chat'; messages: EngineChatMessage[]; maxTokens: number; stopAfterChunks: number }
  /** The sequences' states saved to the load's state folder, as the host does before a sleep. */
  | { op: 'saveStates'; capBytes: number }
  /** The saved state of `kind` restored now, as the first request after a wake would (a load with a state folder). */
  | { op: 'restoreState'; kind: SequenceKind }
  | { op: 'stats' }
  | { op: 'exit' };

export interface EngineInfillResult {
  text: string;
  stopReason: string;
  tokens: number;
  /** Tokens in the prompt actually sent, to check both sides built one prompt. */
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
  | { op: 'saveStates'; ms: number; saved: SaveStateResult['saved'] }
  | { op: 'restoreState'; ms: number }
  | { op: 'stats'; stats: EngineStats }
  | { op: 'error'; message: string };
