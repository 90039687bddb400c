// llama.cpp's llama-server: FIM through /infill (with `input_extra` for the context ring, so the
// server's prompt cache and --cache-reuse keep working), chat through /v1/chat/completions, both
// streamed; its own sleep from GET /props `is_sleeping` (exempt on the server: it neither wakes
// the model nor resets the idle timer). In router mode (`role: router`) the model's state comes
// from GET /models and Sleep Now unloads it with POST /models/unload.
import type { GenerationResult, InfillParams, ChatTurnParams, PrefillResult } from '../types';
import type { StopReason, TokenFigures } from '../../shared/protocol';
import {
  chatModelName,
  isRecord,
  num,
  readAheadTurn,
  str,
  type AdapterContext,
  type ExtraChunk,
  type ServerAdapter,
  type ServerDescription,
} from './adapter';
import { RemoteError, type RequestOptions } from './request';
import { readStreamedAnswer } from './streamedAnswer';

/** What /props must hold for the server to count as llama-server. */
export function looksLikeLlamaServer(props: unknown): boolean {
  return isRecord(props) && ('default_generation_settings' in props || props.role === 'router') && 'build_info' in props;
}

/**
 * The figures of a finished answer. A llama-server started with a draft model (--model-draft) or
 * n-gram drafts says in its timings how many tokens were drafted and accepted (draft_n,
 * draft_n_accepted). Its draft model is chosen when it starts, never per request; the request
 * could override how far it drafts (speculative.n_max, n_min, p_min), but the server's own
 * settings, tuned for its draft model, are left to rule.
 */
export function figuresFrom(final: Record<string, unknown>, fallbackGenerated: number): TokenFigures {
  const timings = isRecord(final.timings) ? final.timings : {};
  const usage = isRecord(final.usage) ? final.usage : {};
  const cached = num(timings.cache_n) ?? num(final.tokens_cached) ?? 0;
  const evaluated = num(timings.prompt_n) ?? 0;
  const prompt = num(final.tokens_evaluated) ?? num(usage.prompt_tokens) ?? cached + evaluated;
  const generated = num(timings.predicted_n) ?? num(usage.completion_tokens) ?? num(final.tokens_predicted) ?? fallbackGenerated;
  const ms = (num(timings.prompt_ms) ?? 0) + (num(timings.predicted_ms) ?? 0);
  return {
    promptTokens: prompt,
    evaluatedTokens: evaluated,
    reusedTokens: Math.max(0, prompt - evaluated),
    generatedTokens: generated,
    tokensPerSecond: generated >= 2 ? num(timings.predicted_per_second) : null,
    ms: Math.round(ms),
    ...draftFigures(timings),
  };
}

function draftFigures(timings: Record<string, unknown>): Pick<TokenFigures, 'draftedTokens' | 'acceptedTokens'> {
  const drafted = num(timings.draft_n);
  if (drafted === null || drafted <= 0) return {};
  return { draftedTokens: drafted, acceptedTokens: Math.min(drafted, num(timings.draft_n_accepted) ?? 0) };
}

function stopReasonOf(type: string | null): StopReason {
  switch (type) {
    case 'eos':
    case 'stop':
      return 'eos';
    case 'limit':
    case 'length':
      return 'maxTokens';
    case 'word':
      return 'suffix';
    default:
      return 'eos';
  }
}

export const llamaServerAdapter: ServerAdapter = {
  kind: 'llama-server',

  async describe(ctx: AdapterContext, options: RequestOptions): Promise<ServerDescription> {
    const { status, body } = await ctx.http.json('GET', '/props', undefined, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
    if (!looksLikeLlamaServer(body) || !isRecord(body)) {
      throw new RemoteError('unknown-server', `${ctx.http.label} answered /props, but not as llama-server does.`);
    }
    if (body.role === 'router') return describeRouter(ctx, options);
    const settings = isRecord(body.default_generation_settings) ? body.default_generation_settings : {};
    const path = str(body.model_path) ?? '';
    const name = str(body.model_alias) || path.split(/[\\/]/).pop() || 'llama-server';
    return {
      name,
      contextSize: num(settings.n_ctx) ?? 0,
      hasFim: null,
      sleeping: typeof body.is_sleeping === 'boolean' ? body.is_sleeping : null,
      model: null,
      canUnload: false,
    };
  },

  async sleeping(ctx, described, options): Promise<boolean | null> {
    if (described.model !== null) {
      const entry = await routerEntry(ctx, described.model, options);
      const value = routerState(entry);
      return value === null ? null : value !== 'loaded' && value !== 'loading';
    }
    const { status, body } = await ctx.http.json('GET', '/props', undefined, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
    return isRecord(body) && typeof body.is_sleeping === 'boolean' ? body.is_sleeping : null;
  },

  async infill(ctx, described, params: InfillParams, extra: readonly ExtraChunk[], options): Promise<GenerationResult> {
    const answer = await readStreamedAnswer(
      ctx.http,
      {
        path: '/infill',
        body: {
          ...(described.model !== null ? { model: described.model } : {}),
          input_prefix: params.prefix,
          input_suffix: params.suffix,
          prompt: params.middle,
          input_extra: extra,
          n_predict: params.maxTokens,
          stop: params.stopTexts,
          stream: true,
          cache_prompt: true,
          // Another candidate (Show Next): the prompt cache holds the prompt, only the answer is drawn anew.
          ...(params.sampling ? { temperature: params.sampling.temperature, seed: params.sampling.seed } : {}),
          // The figures in every event, not only the last: a completion cut at its line limit
          // stops reading before the last one.
          timings_per_token: true,
        },
        maxLines: params.maxLines,
      },
      options,
      (event) => ({
        piece: str(event.content) ?? '',
        done: event.stop === true,
        stopReason: event.stop === true ? stopReasonOf(str(event.stop_type)) : undefined,
      }),
    ).catch((err: unknown) => Promise.reject(noFimOr(ctx, err)));
    const figures = figuresFrom(answer.said, answer.pieces);
    return { text: answer.text, stopReason: answer.stopReason, tokens: figures.generatedTokens, figures };
  },

  async chat(ctx, described, params: ChatTurnParams, onChunk, options): Promise<GenerationResult> {
    return openAiChat(ctx, described, params, onChunk, options);
  },

  /**
   * The turn's own request with one token to generate: its prompt stays in the slot's cache, and
   * the turn sent the same way evaluates only its last token (the slot is chosen by the longest
   * shared prompt).
   */
  chatPrefill(ctx, described, params: ChatTurnParams, options): Promise<PrefillResult> {
    const request = { ...openAiChatBody(ctx, described, params), max_tokens: 1, stream: false };
    return readAheadTurn(ctx, '/v1/chat/completions', request, options, (answer) => figuresFrom(answer, 0));
  },

  async unload(ctx, described, options): Promise<void> {
    if (described.model === null) {
      throw new RemoteError(
        'http',
        `${ctx.http.label} runs one model and sleeps on its own (--sleep-idle-seconds); it cannot be unloaded from here.`,
      );
    }
    const { status, body } = await ctx.http.json('POST', '/models/unload', { model: described.model }, options);
    // A model that is not running is asleep already.
    if (status === 400 && /not running/i.test(JSON.stringify(body))) return;
    if (status !== 200) throw ctx.http.statusError(status, body);
  },
};

/** llama-server's 501 to /infill means the model has no FIM tokens: said as such. */
function noFimOr(ctx: AdapterContext, err: unknown): unknown {
  if (!(err instanceof RemoteError && err.status === 501)) return err;
  return new RemoteError(
    'no-fim',
    `The model on ${ctx.http.label} has no fill-in-the-middle tokens, so inline completions cannot run; chat works.`,
    501,
  );
}

async function routerEntry(ctx: AdapterContext, model: string, options: RequestOptions): Promise<Record<string, unknown> | null> {
  const { status, body } = await ctx.http.json('GET', '/models', undefined, options);
  if (status !== 200) throw ctx.http.statusError(status, body);
  const list = isRecord(body) && Array.isArray(body.data) ? body.data.filter(isRecord) : [];
  return list.find((m) => m.id === model || (Array.isArray(m.aliases) && m.aliases.includes(model))) ?? null;
}

function routerState(entry: Record<string, unknown> | null): string | null {
  if (!entry) return null;
  const status = entry.status;
  return isRecord(status) ? str(status.value) : str(status);
}

async function describeRouter(ctx: AdapterContext, options: RequestOptions): Promise<ServerDescription> {
  const { status, body } = await ctx.http.json('GET', '/models', undefined, options);
  if (status !== 200) throw ctx.http.statusError(status, body);
  const list = isRecord(body) && Array.isArray(body.data) ? body.data.filter(isRecord) : [];
  const entry = ctx.model ? list.find((m) => m.id === ctx.model) : list[0];
  const id = entry ? str(entry.id) : null;
  if (!entry || id === null) {
    const known = list.map((m) => str(m.id)).filter((m): m is string => m !== null);
    throw new RemoteError(
      'http',
      ctx.model
        ? `${ctx.http.label} has no model named ${ctx.model} (it has ${known.join(', ') || 'none'}); set localLlm.remote.model.`
        : `${ctx.http.label} runs in router mode but lists no model.`,
    );
  }
  const state = routerState(entry);
  return {
    name: id,
    contextSize: 0,
    hasFim: null,
    sleeping: state === null ? null : state !== 'loaded' && state !== 'loading',
    model: id,
    canUnload: true,
  };
}

/** A chat turn as /v1/chat/completions takes it, less how it is streamed. */
function openAiChatBody(ctx: AdapterContext, described: ServerDescription, params: ChatTurnParams): Record<string, unknown> {
  const model = chatModelName(ctx, described);
  return {
    ...(model !== null ? { model } : {}),
    messages: params.messages.map((m) => ({ role: m.role, content: m.text })),
    max_tokens: params.maxTokens,
  };
}

/** A streamed /v1/chat/completions answer (llama-server, vLLM and other OpenAI-compatible servers). */
export async function openAiChat(
  ctx: AdapterContext,
  described: ServerDescription,
  params: ChatTurnParams,
  onChunk: (text: string) => void,
  options: RequestOptions,
): Promise<GenerationResult> {
  const answer = await readStreamedAnswer(
    ctx.http,
    {
      path: '/v1/chat/completions',
      body: { ...openAiChatBody(ctx, described, params), stream: true, stream_options: { include_usage: true } },
      onPiece: onChunk,
    },
    options,
    (event) => {
      const choice = Array.isArray(event.choices) && isRecord(event.choices[0]) ? event.choices[0] : null;
      const delta = choice && isRecord(choice.delta) ? choice.delta : null;
      const finish = choice ? str(choice.finish_reason) : null;
      return { piece: delta ? (str(delta.content) ?? '') : '', stopReason: finish ? stopReasonOf(finish) : undefined };
    },
  );
  const figures = figuresFrom(answer.said, answer.pieces);
  return { text: answer.text, stopReason: answer.stopReason, tokens: figures.generatedTokens, figures };
}
