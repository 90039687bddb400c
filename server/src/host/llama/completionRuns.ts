// The completion sequence's two kinds of work on a built prompt: an infill (fill in the middle,
// cut at a line count, a time cap or a stop text) and a prefill (the prompt evaluated ahead, in
// small batches, generating nothing).
import type { PromptPart, StopReason } from '../../shared/protocol';
import { nthNewline } from '../../shared/text';
import { EngineError, nativeMessage } from '../engineError';
import type { GenerationResult, InfillParams, PrefillResult } from '../../engine/types';
import { GenerationMeter, mapStopReason } from './generation';
import type { BuiltPrompt } from './infillPrompt';
import type { LoadedModel } from './loadedModel';
import { evaluateAhead, prefillBatchTokens } from './evaluateAhead';

/**
 * Evaluates `built` into the completion sequence in batches (evaluateAhead.ts); aborting `signal`
 * stops it at the next batch, keeping what was evaluated.
 */
export function runPrefill(loaded: LoadedModel, built: BuiltPrompt, signal: AbortSignal): Promise<PrefillResult> {
  // The whole prompt, the cursor line too: a keystroke on that line then evaluates only itself.
  return evaluateAhead(loaded.sequence, built.layout.tokens, signal, prefillBatchTokens.completion);
}

/** Fills in the middle of `built`; `started` is when the request began, which params.maxMs counts from. */
export async function runInfill(
  loaded: LoadedModel,
  built: BuiltPrompt,
  params: InfillParams,
  signal: AbortSignal,
  started: number,
): Promise<GenerationResult> {
  const { model } = loaded;
  const { layout } = built;
  const prompt = built.bos ? layout.tokens.slice(1) : layout.tokens;
  const promptTokens = layout.tokens.length;
  const describe = (): Pick<GenerationResult, 'prompt' | 'contextChunks'> => ({
    contextChunks: built.contextChunks,
    ...(params.describePrompt
      ? { prompt: layout.pieces.map((p): PromptPart => ({ kind: p.kind, label: p.label, text: model.detokenize(p.tokens, true) })) }
      : {}),
  });
  // The time cap counts from the request's start here, prompt included: that is what the user waits for.
  const capper = new AbortController();
  const maxMs = params.maxMs ?? 0;
  const capTimer = maxMs > 0 ? setTimeout(() => capper.abort(), Math.max(0, maxMs - (performance.now() - started))) : undefined;
  const maxLines = Math.max(1, params.maxLines);
  const lineLimit = new AbortController();
  const stop = AbortSignal.any([signal, lineLimit.signal, capper.signal]);
  let streamed = '';
  let text = '';
  const meter = new GenerationMeter(loaded.sequence);
  let stopReason: StopReason;
  try {
    const response = await loaded.completion.generateCompletionWithMeta(prompt, {
      maxTokens: built.maxTokens,
      // Prompt and answer already fit; the default (a tenth of the context) would cut the prompt's front.
      contextShiftSize: built.maxTokens,
      customStopTriggers: params.stopTexts.filter((s) => s !== ''),
      // Another candidate: the sequence still holds the prompt (LlamaCompletion keeps the common
      // start and evaluates only its last token again), so only the answer is drawn anew.
      ...(params.sampling ? { temperature: params.sampling.temperature, seed: params.sampling.seed, topK: 40, topP: 0.95 } : {}),
      signal: stop,
      stopOnAbortSignal: true,
      onTextChunk: (chunk) => {
        meter.sawToken();
        streamed += chunk;
        if (nthNewline(streamed, maxLines) >= 0) lineLimit.abort();
      },
    });
    text = response.response;
    stopReason = mapStopReason(response.metadata.stopReason);
  } catch (err) {
    // Aborting before the first token throws instead of returning.
    if (!stop.aborted) throw new EngineError(`The completion failed: ${nativeMessage(err)}.`);
    stopReason = 'abort';
  } finally {
    clearTimeout(capTimer);
  }
  const figures = meter.figures(promptTokens);
  const tokens = figures.generatedTokens;
  const extra = describe();
  const cut = nthNewline(text, maxLines);
  if (cut >= 0) return { text: text.slice(0, cut), stopReason: 'maxLines', tokens, figures, ...extra };
  if (lineLimit.signal.aborted && !signal.aborted) return { text, stopReason: 'maxLines', tokens, figures, ...extra };
  // Capped: the text so far (streamed pieces are whole tokens) is the answer; the server trims it to whole lines.
  if (capper.signal.aborted && !signal.aborted)
    return { text: text === '' ? streamed : text, stopReason: 'abort', tokens, figures, capped: true, ...extra };
  return { text, stopReason, tokens, figures, ...extra };
}
