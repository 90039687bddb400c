// Prompt-lookup drafts for one sequence: node-llama-cpp's InputLookupTokenPredictor behind a
// switch. A sequence's predictor is fixed when the sequence is made, so turning drafts off (when
// they do not pay) leaves the predictor attached and has it draft nothing.
import type { Token, TokenPredictor } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { NodeLlamaCpp } from './backend';
import { LookupPayoff } from './lookupPayoff';

export interface SequenceLookup {
  /** Attach on getSequence({ tokenPredictor }). */
  readonly predictor: TokenPredictor;
  /** Whether drafts are made now; false once they did not pay. */
  enabled: boolean;
  readonly payoff: LookupPayoff;
}

export function createSequenceLookup(lib: NodeLlamaCpp): SequenceLookup {
  const inner = new lib.InputLookupTokenPredictor();
  const lookup: { enabled: boolean } = { enabled: true };
  class SwitchableLookup extends lib.TokenPredictor {
    reset(params: Parameters<TokenPredictor['reset']>[0]): void {
      inner.reset(params);
    }
    pushTokens(tokens: Token[]): void {
      inner.pushTokens(tokens);
    }
    predictTokens(): Token[] {
      return lookup.enabled ? inner.predictTokens() : [];
    }
    override updateInputTokens(tokens: Token[]): void {
      inner.updateInputTokens(tokens);
    }
    override dispose(): void {
      inner.dispose();
    }
  }
  const predictor = new SwitchableLookup();
  return {
    predictor,
    get enabled() {
      return lookup.enabled;
    },
    set enabled(on: boolean) {
      lookup.enabled = on;
    },
    payoff: new LookupPayoff(),
  };
}
