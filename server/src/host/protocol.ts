// The model host's messages on its socket (vscode-jsonrpc): the engine's calls (their types are the
// engine's, engine/types.ts) and what only the shared host speaks (hello, configure, activity, state,
// log). The host owns node-llama-cpp and nothing else; it keeps no state the server cannot rebuild.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type {
  ChatTurnParams,
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  LoadResult,
  PrefillParams,
  PrefillResult,
  SaveStateParams,
  SaveStateResult,
} from '../engine/types';

/** A chat answer on the wire: its stream id is echoed in each ChatChunk notification. */
export interface ChatGenerateParams extends ChatTurnParams {
  streamId: number;
}

export interface ChatChunkParams {
  streamId: number;
  text: string;
}

/** Load the model and create the context. Fails with a human message in the error. */
export const loadRequest = new RequestType<LoadParams, LoadResult, void>('host/load');
/** Light sleep: abort nothing, wait for a running generation, then dispose context and model. */
export const unloadRequest = new RequestType0<HostStats, void>('host/unload');
/** Before a sleep: save the sequences' state to the load's stateDir. A failure costs the reuse only and is answered, logged, not thrown. */
export const saveStateRequest = new RequestType<SaveStateParams, SaveStateResult, void>('host/saveState');
/** Fill in the middle; cancellable with $/cancelRequest. */
export const infillRequest = new RequestType<InfillParams, GenerationResult, void>('host/infill');
/** Evaluate an infill's prompt in small batches, stopping at the next one when cancelled; generates nothing. */
export const prefillRequest = new RequestType<PrefillParams, PrefillResult, void>('host/prefill');
/** Evaluate a chat answer's prompt (a draft's) into the chat sequence in small batches, generating nothing; cancellable. Never wakes the model. */
export const chatPrefillRequest = new RequestType<ChatTurnParams, PrefillResult, void>('host/chatPrefill');
/** One chat answer over the given messages; streams ChatChunk; cancellable. */
export const chatRequest = new RequestType<ChatGenerateParams, GenerationResult, void>('host/chat');
export const chatChunkNotification = new NotificationType<ChatChunkParams>('host/chatChunk');
/** RSS and VRAM of the host process. */
export const statsRequest = new RequestType0<HostStats, void>('host/stats');
/** Answered at once by the host's event loop, which stays free while native code loads or
 * generates: the server's check that the host still runs. */
export const pingRequest = new RequestType0<void, void>('host/ping');
/** Dispose everything and exit the process. */
export const shutdownRequest = new RequestType0<void, void>('host/shutdown');

// The shared host (sharedHost.ts): one host per user and model serves every language server that
// attaches to its socket. These messages exist only on that socket.

export interface HelloParams {
  /** The language server's pid, for the host's log. */
  clientPid: number;
  /** This window's sleepIdleSeconds in ms; 0 = this window never asks for sleep. */
  idleMs: number;
  sleepMode: 'deep' | 'light';
  /** localLlm.stateCacheMB in bytes: what the host may keep across a sleep it decides itself. */
  stateCapBytes: number;
  /**
   * localLlm.sleep.standby: a deep sleep leaves a standby host (libraries loaded, no model) for a
   * faster wake. Absent counts as false, so that only a window that asks for one gets one.
   */
  standby?: boolean;
}

/** The shared model's state as the host sees it, sent to every client on each change. */
export interface SharedHostState {
  /** empty: nothing loaded yet; sleeping: going to sleep or asleep (light). */
  state: 'empty' | 'loading' | 'ready' | 'sleeping';
  /** The sleep came from "Sleep Now" in some window. */
  byUser: boolean;
  /** The sleep ends the process (deep). */
  deep: boolean;
  /** Language servers attached. */
  clients: number;
  /** Model loads this host has done. */
  loads: number;
  /** Until the shared idle sleep, as of sending; null when not ready or no window asks for sleep. */
  idleMsLeft: number | null;
  hostPid: number;
  /**
   * The host's RSS just before its first load: the pre-load baseline, which a window that
   * attached after the load cannot measure itself. Null until a load starts.
   */
  baselineRssBytes: number | null;
  /**
   * The host's RSS as its current sleep began, and once a light sleep has freed the model (null
   * until then; a deep sleep ends the process, which returns all of it). Every window reports
   * what the sleep freed from these, whichever window asked for it. Null while not asleep.
   */
  sleepRssBytes: { before: number; after: number | null } | null;
}

/** First message of a client on the socket; answers the state. */
export const helloRequest = new RequestType<HelloParams, SharedHostState, void>('host/hello');
/** The client's idle time, sleep mode or state cap changed. */
export const configureNotification = new NotificationType<Omit<HelloParams, 'clientPid'>>('host/configure');
/** Editor activity in the client's window (throttled by the client). */
export const activityNotification = new NotificationType<void>('host/activity');
/** Host -> every client: the shared state changed. */
export const stateNotification = new NotificationType<SharedHostState>('host/state');
/** Host -> every client: a line of the host's log. */
export const logNotification = new NotificationType<string>('host/log');

/** What a window in deep sleep sends to the standby host it keeps alive (standby.ts). */
export interface WatchParams {
  /** The language server's pid, for the host's log. */
  clientPid: number;
}

/**
 * A window in deep sleep keeps the standby host alive through this connection: the host ends a
 * grace period after the last window and the last watcher left. Answers the state.
 */
export const watchRequest = new RequestType<WatchParams, SharedHostState, void>('host/watch');
