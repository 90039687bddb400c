// Ollama: FIM through /api/generate with `suffix` (Ollama applies the model's own FIM template),
// chat through /api/chat, both streamed as one JSON object a line. Ollama frees a model after its
// `keep_alive`, which we set to the user's sleepIdleSeconds; /api/ps (read-only) lists the models
// in memory, so a model missing from it is asleep. Sleep Now is `keep_alive: 0`.
// Shapes from Ollama's API documentation; not run against a real Ollama here.
import type { ChatTurnParams, GenerationResult, InfillParams, PrefillResult } from '../types';
import type { TokenFigures } from '../../shared/protocol';
import {
  chatModelName,
  isRecord,
  num,
  readAheadTurn,
  str,
  type AdapterContext,
  type ServerAdapter,
  type ServerDescription,
} from './adapter';
import { RemoteError } from './request';
import { readStreamedAnswer, type AnswerEvent } from './streamedAnswer';

function keepAlive(ctx: AdapterContext): string | number {
  // 0 means "never sleep" for us; Ollama's -1 keeps the model loaded.
  return ctx.keepAliveSeconds > 0 ? `${ctx.keepAliveSeconds}s` : -1;
}

/** Ollama reports durations in nanoseconds. */
export function ollamaFigures(final: Record<string, unknown>, fallbackGenerated: number): TokenFigures {
  const prompt = num(final.prompt_eval_count) ?? 0;
  const generated = num(final.eval_count) ?? fallbackGenerated;
  const evalNs = num(final.eval_duration) ?? 0;
  const ms = ((num(final.prompt_eval_duration) ?? 0) + evalNs) / 1e6;
  return {
    promptTokens: prompt,
    // Ollama counts only the prompt tokens it evaluated; what it reused is not reported.
    evaluatedTokens: prompt,
    reusedTokens: 0,
    generatedTokens: generated,
    tokensPerSecond: generated >= 2 && evalNs > 0 ? generated / (evalNs / 1e9) : null,
    ms: Math.round(ms),
  };
}

/** What a turn and its read-ahead send alike, so that both make the same prompt. */
function chatBody(ctx: AdapterContext, described: ServerDescription, params: ChatTurnParams): Record<string, unknown> {
  return {
    model: chatModelName(ctx, described),
    messages: params.messages.map((m) => ({ role: m.role, content: m.text })),
    keep_alive: keepAlive(ctx),
  };
}

/** One line of /api/generate or /api/chat: its text piece; the last one says `done` and why. */
function decodeEvent(event: Record<string, unknown>, piece: string | null): AnswerEvent {
  const done = event.done === true;
  return { piece: piece ?? '', done, stopReason: done ? (str(event.done_reason) === 'length' ? 'maxTokens' : 'eos') : undefined };
}

export const ollamaAdapter: ServerAdapter = {
  kind: 'ollama',

  async describe(ctx, options): Promise<ServerDescription> {
    const { status, body } = await ctx.http.json('GET', '/api/tags', undefined, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
    const names = (isRecord(body) && Array.isArray(body.models) ? body.models.filter(isRecord) : [])
      .map((m) => str(m.name) ?? str(m.model))
      .filter((n): n is string => n !== null);
    const model = ctx.model || names[0];
    if (!model) throw new RemoteError('http', `${ctx.http.label} (Ollama) has no model; pull one with \`ollama pull\`.`);
    if (ctx.model && !names.includes(ctx.model)) {
      throw new RemoteError('http', `${ctx.http.label} (Ollama) has no model named ${ctx.model} (it has ${names.join(', ') || 'none'}).`);
    }
    const described: ServerDescription = { name: model, contextSize: 0, hasFim: null, sleeping: null, model, canUnload: true };
    described.sleeping = await this.sleeping(ctx, described, options);
    return described;
  },

  async sleeping(ctx, described, options): Promise<boolean | null> {
    const { status, body } = await ctx.http.json('GET', '/api/ps', undefined, options);
    if (status !== 200) return null;
    const loaded = (isRecord(body) && Array.isArray(body.models) ? body.models.filter(isRecord) : []).map(
      (m) => str(m.name) ?? str(m.model),
    );
    return !loaded.includes(described.model);
  },

  async infill(ctx, described, params: InfillParams, _extra, options): Promise<GenerationResult> {
    const answer = await readStreamedAnswer(
      ctx.http,
      {
        path: '/api/generate',
        body: {
          model: described.model,
          prompt: params.prefix + params.middle,
          suffix: params.suffix,
          stream: true,
          keep_alive: keepAlive(ctx),
          options: {
            num_predict: params.maxTokens,
            stop: params.stopTexts,
            // Another candidate (Show Next): Ollama keeps the prompt's KV cache, only the answer is drawn anew.
            ...(params.sampling ? { temperature: params.sampling.temperature, seed: params.sampling.seed } : {}),
          },
        },
        format: 'ndjson',
        maxLines: params.maxLines,
      },
      options,
      (event) => decodeEvent(event, str(event.response)),
    );
    const figures = ollamaFigures(answer.said, answer.pieces);
    return { text: answer.text, stopReason: answer.stopReason, tokens: figures.generatedTokens, figures };
  },

  async chat(ctx, described, params: ChatTurnParams, onChunk, options): Promise<GenerationResult> {
    const answer = await readStreamedAnswer(
      ctx.http,
      {
        path: '/api/chat',
        body: { ...chatBody(ctx, described, params), stream: true, options: { num_predict: params.maxTokens } },
        format: 'ndjson',
        onPiece: onChunk,
      },
      options,
      (event) => decodeEvent(event, isRecord(event.message) ? str(event.message.content) : null),
    );
    const figures = ollamaFigures(answer.said, answer.pieces);
    return { text: answer.text, stopReason: answer.stopReason, tokens: figures.generatedTokens, figures };
  },

  /**
   * The turn's own request with one token to generate: Ollama's runner keeps the prompt it last
   * evaluated, and the turn sent the same way evaluates only what follows the shared part.
   */
  chatPrefill(ctx, described, params: ChatTurnParams, options): Promise<PrefillResult> {
    const request = { ...chatBody(ctx, described, params), stream: false, options: { num_predict: 1 } };
    return readAheadTurn(ctx, '/api/chat', request, options, (answer) => ollamaFigures(answer, 0));
  },

  async unload(ctx, described, options): Promise<void> {
    const { status, body } = await ctx.http.json('POST', '/api/generate', { model: described.model, keep_alive: 0 }, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
  },
};
