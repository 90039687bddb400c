// vLLM and other OpenAI-compatible servers: FIM as a /v1/completions prompt in the model's own
// FIM format (guessed from the model's name; these servers do not say), chat through
// /v1/chat/completions, both streamed. vLLM in its development mode (VLLM_SERVER_DEV_MODE=1)
// also has GET /is_sleeping, POST /sleep and POST /wake_up: where /is_sleeping answers, Sleep Now
// puts the model to sleep and a request wakes it first.
// Shapes from vLLM's and OpenAI's API documentation; not run against a real vLLM here.
import type { ChatTurnParams, GenerationResult, InfillParams } from '../types';
import { isRecord, num, str, type AdapterContext, type ServerAdapter, type ServerDescription } from './adapter';
import { openAiChat } from './llamaServer';
import { RemoteError, type RequestOptions } from './request';
import { readStreamedAnswer } from './streamedAnswer';

/** The FIM layout of the model families whose names say it; Qwen's (also StarCoder 2's spelling with `|`) otherwise. */
export function fimPrompt(model: string, prefix: string, suffix: string): string {
  const name = model.toLowerCase();
  if (name.includes('deepseek')) return `<｜fim▁begin｜>${prefix}<｜fim▁hole｜>${suffix}<｜fim▁end｜>`;
  if (name.includes('codellama') || name.includes('code-llama')) return `<PRE> ${prefix} <SUF>${suffix} <MID>`;
  if (name.includes('starcoder') || name.includes('santacoder')) return `<fim_prefix>${prefix}<fim_suffix>${suffix}<fim_middle>`;
  if (name.includes('codestral') || name.includes('mistral')) return `[SUFFIX]${suffix}[PREFIX]${prefix}`;
  return `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`;
}

async function isSleeping(ctx: AdapterContext, options: RequestOptions): Promise<boolean | null> {
  const { status, body } = await ctx.http.json('GET', '/is_sleeping', undefined, options);
  return status === 200 && isRecord(body) && typeof body.is_sleeping === 'boolean' ? body.is_sleeping : null;
}

export const openAiAdapter: ServerAdapter = {
  kind: 'openai',

  async describe(ctx, options): Promise<ServerDescription> {
    const { status, body } = await ctx.http.json('GET', '/v1/models', undefined, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
    const list = isRecord(body) && Array.isArray(body.data) ? body.data.filter(isRecord) : [];
    const entry = ctx.model ? list.find((m) => m.id === ctx.model) : list[0];
    const id = entry ? str(entry.id) : null;
    if (!entry || id === null) {
      throw new RemoteError(
        'http',
        ctx.model ? `${ctx.http.label} has no model named ${ctx.model}.` : `${ctx.http.label} lists no model at /v1/models.`,
      );
    }
    const sleeping = await isSleeping(ctx, options).catch(() => null);
    return { name: id, contextSize: num(entry.max_model_len) ?? 0, hasFim: null, sleeping, model: id, canUnload: sleeping !== null };
  },

  async sleeping(ctx, described, options): Promise<boolean | null> {
    return described.canUnload ? isSleeping(ctx, options) : null;
  },

  async infill(ctx, described, params: InfillParams, _extra, options): Promise<GenerationResult> {
    const answer = await readStreamedAnswer(
      ctx.http,
      {
        path: '/v1/completions',
        body: {
          model: described.model,
          prompt: fimPrompt(described.model ?? '', params.prefix, params.suffix) + params.middle,
          max_tokens: params.maxTokens,
          stop: params.stopTexts.length ? params.stopTexts.slice(0, 4) : undefined,
          stream: true,
          stream_options: { include_usage: true },
          // Another candidate (Show Next); a server with prefix caching (vLLM's default) reads the prompt from its cache.
          ...(params.sampling ? { temperature: params.sampling.temperature, seed: params.sampling.seed } : {}),
        },
        maxLines: params.maxLines,
      },
      options,
      (event) => {
        const choice = Array.isArray(event.choices) && isRecord(event.choices[0]) ? event.choices[0] : null;
        const finish = choice ? str(choice.finish_reason) : null;
        return {
          piece: choice ? (str(choice.text) ?? '') : '',
          stopReason: finish ? (finish === 'length' ? 'maxTokens' : 'eos') : undefined,
        };
      },
    );
    const usage = isRecord(answer.said.usage) ? answer.said.usage : {};
    const prompt = num(usage.prompt_tokens) ?? 0;
    const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    const cached = num(details.cached_tokens) ?? 0;
    const generated = num(usage.completion_tokens) ?? answer.pieces;
    return {
      text: answer.text,
      stopReason: answer.stopReason,
      tokens: generated,
      figures: {
        promptTokens: prompt,
        evaluatedTokens: prompt - cached,
        reusedTokens: cached,
        generatedTokens: generated,
        tokensPerSecond: null,
        ms: 0,
      },
    };
  },

  chat(ctx, described, params: ChatTurnParams, onChunk, options): Promise<GenerationResult> {
    return openAiChat(ctx, described, params, onChunk, options);
  },

  async unload(ctx, _described, options): Promise<void> {
    const { status, body } = await ctx.http.json('POST', '/sleep?level=1', undefined, options);
    if (status !== 200) throw ctx.http.statusError(status, body);
  },

  wake(ctx, _described, options): Promise<void> {
    return openAiWake(ctx, options);
  },
};

/** vLLM's explicit wake, before a request to a model it put to sleep. */
export async function openAiWake(ctx: AdapterContext, options: RequestOptions): Promise<void> {
  const { status, body } = await ctx.http.json('POST', '/wake_up', undefined, options);
  if (status !== 200) throw ctx.http.statusError(status, body);
}
