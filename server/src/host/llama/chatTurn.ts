// One chat answer on the chat sequence: the history fitted to the context (the oldest turns go
// first), then the answer streamed piece by piece, continuing from the exact tokens of a follow-up.
import { EngineError, nativeMessage } from '../engineError';
import type { GenerationResult, HostChatMessage, ChatTurnParams, PrefillResult } from '../../engine/types';
import { abortResult, GenerationMeter, mapStopReason } from './generation';
import type { NodeLlamaCpp } from './backend';
import { prependsBos } from './infillPrompt';
import type { LoadedModel } from './loadedModel';

/** Drops the oldest turns (never the system prompt or the question) until prompt and answer fit. */
function fitChatHistory(
  loaded: LoadedModel,
  messages: HostChatMessage[],
  maxTokens: number,
): { messages: HostChatMessage[]; maxTokens: number } {
  const contextSize = loaded.chatSequence.contextSize;
  const answer = Math.max(16, Math.min(maxTokens, Math.floor(contextSize / 2)));
  // Chat template overhead per message, generously.
  const cost = (m: HostChatMessage): number => loaded.model.tokenize(m.text, false, 'trimLeadingSpace').length + 8;
  const kept = [...messages];
  let total = kept.reduce((sum, m) => sum + cost(m), 0);
  const firstDroppable = kept[0]?.role === 'system' ? 1 : 0;
  while (total + answer > contextSize && kept.length - firstDroppable > 1) {
    total -= cost(kept[firstDroppable]);
    kept.splice(firstDroppable, 1);
  }
  const room = contextSize - total - 8;
  if (room < 16) {
    throw new EngineError(
      `The question and its context take ${total} tokens, too many for the model's ${contextSize}-token context; select less code or raise localLlm.contextSize.`,
    );
  }
  return { messages: kept, maxTokens: Math.min(answer, room) };
}

/**
 * The answer to `params.messages`, each streamed piece passed to `onChunk`. A follow-up of the
 * conversation the chat sequence holds continues from its exact tokens (chatTurns.ts, #24); any
 * other turn goes through the load's LlamaChat, made on its first turn.
 */
export async function runChat(
  loaded: LoadedModel,
  lib: NodeLlamaCpp,
  params: ChatTurnParams,
  onChunk: (text: string) => void,
  signal: AbortSignal,
  trace: (line: string) => void,
): Promise<GenerationResult> {
  const fitted = fitChatHistory(loaded, params.messages, params.maxTokens);
  const meter = new GenerationMeter(loaded.chatSequence);
  try {
    loaded.chat ??= new lib.LlamaChat({ contextSequence: loaded.chatSequence });
    const response = await loaded.chatTurns.answer(lib, loaded.chat, fitted.messages, {
      maxTokens: fitted.maxTokens,
      signal,
      bosPrepended: prependsBos(loaded.model),
      trace,
      onTextChunk: (text) => {
        meter.sawToken();
        if (text !== '') onChunk(text);
      },
    });
    const figures = meter.figures(response.promptTokens);
    return { text: response.text, stopReason: mapStopReason(response.stopReason), tokens: figures.generatedTokens, figures };
  } catch (err) {
    if (signal.aborted) {
      const figures = meter.figures(null);
      return { ...abortResult, tokens: figures.generatedTokens, figures };
    }
    throw new EngineError(`The chat answer failed: ${nativeMessage(err)}.`);
  }
}

/**
 * Evaluates ahead what an answer to `params.messages` would evaluate (a draft's prefill), fitted
 * as that answer would be; aborting `signal` stops it at the next batch, keeping what was evaluated.
 */
export async function runChatPrefill(
  loaded: LoadedModel,
  lib: NodeLlamaCpp,
  params: ChatTurnParams,
  signal: AbortSignal,
): Promise<PrefillResult> {
  const fitted = fitChatHistory(loaded, params.messages, params.maxTokens);
  loaded.chat ??= new lib.LlamaChat({ contextSequence: loaded.chatSequence });
  return loaded.chatTurns.prefill(lib, loaded.chat, fitted.messages, {
    maxTokens: fitted.maxTokens,
    bosPrepended: prependsBos(loaded.model),
    signal,
  });
}
