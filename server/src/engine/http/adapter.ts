// What each kind of model server must answer: its description, its own sleep, fill-in-the-middle,
// a streamed chat answer and (where it has one) an unload. The remote engine (remoteEngine.ts)
// adds what is common: polling, the wake, deadlines, errors, the API key.
import type { ChatTurnParams, GenerationResult, InfillParams, PrefillResult } from '../types';
import type { EngineKind, TokenFigures } from '../../shared/protocol';
import type { HttpClient, RequestOptions } from './request';

export type ServerKind = Exclude<EngineKind, 'local'>;

/** A file chunk for a server's own context (llama-server's `input_extra`). */
export interface ExtraChunk {
  filename: string;
  text: string;
}

export interface ServerDescription {
  /** The model's name as the server gives it. */
  name: string;
  contextSize: number;
  /** Whether the model can fill in the middle; null: unknown until the first completion asks. */
  hasFim: boolean | null;
  /** The server's own sleep; null when it does not say. */
  sleeping: boolean | null;
  /** The model name to put in requests; null when the server serves one model. */
  model: string | null;
  /** Whether Sleep Now can unload the model (llama-server's router mode, Ollama, vLLM's dev mode). */
  canUnload: boolean;
}

export interface AdapterContext {
  http: HttpClient;
  /** The model setting (`localLlm.remote.model`); empty: the server's first. */
  model: string;
  /** #25: the chat requests' model (`localLlm.remote.chatModel`); empty: the same as completions'. */
  chatModel?: string;
  /** The user's sleepIdleSeconds, for servers that take a keep-alive. */
  keepAliveSeconds: number;
}

export interface ServerAdapter {
  readonly kind: ServerKind;
  /** Read-only calls that never wake the model nor reset the server's idle timer. */
  describe(ctx: AdapterContext, options: RequestOptions): Promise<ServerDescription>;
  /** The server's own sleep, asked without waking it; null when it does not say. */
  sleeping(ctx: AdapterContext, described: ServerDescription, options: RequestOptions): Promise<boolean | null>;
  infill(
    ctx: AdapterContext,
    described: ServerDescription,
    params: InfillParams,
    extra: readonly ExtraChunk[],
    options: RequestOptions,
  ): Promise<GenerationResult>;
  chat(
    ctx: AdapterContext,
    described: ServerDescription,
    params: ChatTurnParams,
    onChunk: (text: string) => void,
    options: RequestOptions,
  ): Promise<GenerationResult>;
  /**
   * Reads a chat turn's prompt into the server's prompt cache before the turn is sent (a draft the
   * user is still writing), so the turn reuses it; only servers that keep such a cache have it.
   */
  chatPrefill?(ctx: AdapterContext, described: ServerDescription, params: ChatTurnParams, options: RequestOptions): Promise<PrefillResult>;
  /** Unloads the model on the server (only when described.canUnload). */
  unload(ctx: AdapterContext, described: ServerDescription, options: RequestOptions): Promise<void>;
  /** Wakes a model the server put to sleep, for servers that do not wake on a request by themselves. */
  wake?(ctx: AdapterContext, described: ServerDescription, options: RequestOptions): Promise<void>;
}

/** The model a chat request names: the chat model when one is set, else the one completions use (null: the server's only one). */
export function chatModelName(ctx: AdapterContext, described: ServerDescription): string | null {
  return ctx.chatModel ? ctx.chatModel : described.model;
}

/**
 * A chat read-ahead: the turn's own request (one token to generate, not streamed) sent to `path`,
 * answered with the prompt figures `figuresOf` reads from the server's answer. The token is thrown away.
 */
export async function readAheadTurn(
  ctx: AdapterContext,
  path: string,
  request: Record<string, unknown>,
  options: RequestOptions,
  figuresOf: (answer: Record<string, unknown>) => TokenFigures,
): Promise<PrefillResult> {
  const { status, body } = await ctx.http.json('POST', path, request, options);
  if (status !== 200) throw ctx.http.statusError(status, body);
  const { promptTokens, evaluatedTokens } = figuresOf(isRecord(body) ? body : {});
  return { promptTokens, evaluatedTokens, stopped: false };
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
