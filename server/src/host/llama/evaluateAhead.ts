// A prompt evaluated ahead of the request that will use it, generating nothing: in small batches,
// so that a cancel (a keystroke, a newer draft, a sleep) stops it at the next one, keeping what
// was evaluated. The request then finds those tokens held and evaluates only the rest.
import type { LlamaContextSequence, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { EngineError, nativeMessage } from '../engineError';
import { stoppedPrefill, type PrefillResult } from '../../engine/types';

/**
 * Tokens evaluated at a time: a cancel waits for at most one batch. A completion's prefill stops
 * for the next keystroke, so its batches are small; a chat draft's stops for a newer draft or the
 * send, which then uses what the batch evaluated, so its batches are larger and cheaper per token:
 * against evaluating the whole prompt at once, 2.4x the time at 32 and 1.0x at 128 on this CPU
 * (bench/codebaseFirstToken.ts, 2,810 tokens: 31.8 s and 13.4 s against 13.1 s).
 */
export const prefillBatchTokens = { completion: 32, chat: 128 } as const;

/** Evaluates `target` into `sequence` after the start it already holds; `promptTokens` is reported as the prompt's length. */
export async function evaluateAhead(
  sequence: LlamaContextSequence,
  target: Token[],
  signal: AbortSignal,
  batchTokens: number,
  promptTokens = target.length,
): Promise<PrefillResult> {
  try {
    // Drops what differs (an older prompt's end); keeps the common start.
    await sequence.adaptStateToTokens(target, false);
    const held = sequence.nextTokenIndex;
    let at = held;
    while (at < target.length) {
      if (signal.aborted) return { promptTokens, evaluatedTokens: at - held, stopped: true };
      const batch = target.slice(at, at + batchTokens);
      await sequence.evaluateWithoutGeneratingNewTokens(batch);
      at += batch.length;
    }
    return { promptTokens, evaluatedTokens: at - held, stopped: false };
  } catch (err) {
    if (signal.aborted) return stoppedPrefill;
    throw new EngineError(`The prefill failed: ${nativeMessage(err)}.`);
  }
}
