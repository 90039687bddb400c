// What one generation on a sequence cost, and why it stopped, in the host's terms.
import type { LlamaContextSequence, TokenMeterState } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { StopReason, TokenFigures } from '../../shared/protocol';
import { noFigures, type GenerationResult } from '../../engine/types';

/** The answer of a generation aborted before it began. */
export const abortResult: GenerationResult = { text: '', stopReason: 'abort', tokens: 0, figures: noFigures };

type LibraryStopReason = 'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';

export function mapStopReason(reason: LibraryStopReason): StopReason {
  switch (reason) {
    case 'maxTokens':
      return 'maxTokens';
    case 'abort':
      return 'abort';
    case 'customStopTrigger':
      return 'suffix';
    default:
      return 'eos';
  }
}

/**
 * What one generation on a sequence cost, from the sequence's token meter. The meter counts a
 * decoded token as output when its logits were asked for: the prompt's last token and every
 * sampled token fed back. So tokens sampled = output, and prompt tokens evaluated = input + 1.
 * The library may sample one past maxTokens when the last token is half of a UTF-8 character, and
 * its onToken callback misses held-back tokens, so the meter is the count to trust.
 *
 * With prompt-lookup drafts, every drafted token is decoded with its logits asked for, so the
 * meter counts it as output; a batch of one token and k drafts yields 1 token plus those of the
 * drafts that were accepted. Tokens generated = output - drafted + accepted.
 */
export class GenerationMeter {
  private readonly before: TokenMeterState;
  private readonly predictionsBefore: LlamaContextSequence['tokenPredictions'];
  private readonly started = performance.now();
  private firstTokenAt: number | null = null;

  constructor(private readonly sequence: LlamaContextSequence) {
    this.before = sequence.tokenMeter.getState();
    this.predictionsBefore = sequence.tokenPredictions;
  }

  /** Called on every streamed piece; the first one ends the prompt's evaluation. */
  sawToken(): void {
    this.firstTokenAt ??= performance.now();
  }

  /** `promptTokens` when known; else taken from the sequence (its tokens less those generated and fed back). */
  figures(promptTokens: number | null): TokenFigures {
    const ended = performance.now();
    const used = this.sequence.tokenMeter.diff(this.before);
    const now = this.sequence.tokenPredictions;
    const was = this.predictionsBefore;
    const validated = now.validated - was.validated;
    const drafted = validated + (now.refuted - was.refuted);
    const accepted = now.used - was.used;
    const generatedTokens = used.usedOutputTokens - drafted + accepted;
    const evaluated = used.usedInputTokens + (generatedTokens > 0 ? 1 : 0);
    const prompt = Math.max(evaluated, promptTokens ?? this.sequence.contextTokens.length - Math.max(0, generatedTokens - 1));
    const generating = this.firstTokenAt === null ? 0 : ended - this.firstTokenAt;
    return {
      promptTokens: prompt,
      evaluatedTokens: evaluated,
      reusedTokens: prompt - evaluated,
      generatedTokens,
      tokensPerSecond: generatedTokens >= 2 && generating > 0 ? ((generatedTokens - 1) * 1000) / generating : null,
      ms: ended - this.started,
      ...(drafted > 0 ? { draftedTokens: drafted, acceptedTokens: accepted } : {}),
    };
  }
}
