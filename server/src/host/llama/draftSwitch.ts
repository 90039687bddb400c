// The completion sequence's drafts with a draft model: the draft model's while they pay, then
// prompt lookup's (or none) for the rest of the load. A sequence's predictor is fixed when the
// sequence is made, so the switch happens inside the one predictor attached to it.
import type { Token, TokenPredictor } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { NodeLlamaCpp } from './backend';
import { LookupPayoff } from './lookupPayoff';
import type { SequenceLookup } from './lookupPredictor';

export interface DraftSwitch {
  /** Attach on getSequence({ tokenPredictor }). */
  readonly predictor: TokenPredictor;
  /** Judges the draft model's drafts, as prompt lookup's are judged. */
  readonly payoff: LookupPayoff;
  /** Whether the draft model drafts now. */
  readonly drafting: boolean;
  /** What drafts once the draft model is off: prompt lookup, or nothing. */
  readonly fallback: SequenceLookup | null;
  /** Stops the draft model's drafts for this load; `fallback` drafts from the next request on. */
  switchOff(): void;
}

type ResetParams = Parameters<TokenPredictor['reset']>[0];

export function createDraftSwitch(lib: NodeLlamaCpp, draft: TokenPredictor, fallback: SequenceLookup | null): DraftSwitch {
  let drafting = true;
  // The one that gets the sequence's tokens now; null: no drafts at all.
  const active = (): TokenPredictor | null => (drafting ? draft : (fallback?.predictor ?? null));
  class SwitchedPredictor extends lib.TokenPredictor {
    reset(params: ResetParams): Promise<void> | void {
      return active()?.reset(params);
    }
    pushTokens(tokens: Token[]): void {
      active()?.pushTokens(tokens);
    }
    predictTokens(): Promise<Token[]> | Token[] {
      return active()?.predictTokens() ?? [];
    }
    override stop(untilPredictionsExhausted?: boolean): Promise<void> | void {
      return active()?.stop(untilPredictionsExhausted);
    }
    override updateInputTokens(tokens: Token[]): void {
      active()?.updateInputTokens(tokens);
    }
    override async dispose(): Promise<void> {
      await draft.dispose();
      await fallback?.predictor.dispose();
    }
  }
  return {
    predictor: new SwitchedPredictor(),
    payoff: new LookupPayoff(),
    get drafting() {
      return drafting;
    },
    fallback,
    switchOff() {
      if (!drafting) return;
      drafting = false;
      // The draft model's sequence stops following; it stays loaded until the next load frees it.
      void Promise.resolve(draft.stop()).catch(() => undefined);
      if (fallback) fallback.enabled = true;
    },
  };
}
