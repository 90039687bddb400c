// Prompt-lookup drafts for one sequence, as a node-llama-cpp token predictor: it follows the
// sequence's tokens (reset with its state, then each accepted token) and drafts with
// lookupDraft.ts. A sequence's predictor is fixed when the sequence is made, so turning drafts
// off (when they do not pay) leaves it attached and has it draft nothing.
import type { Token, TokenPredictor } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { NodeLlamaCpp } from './backend';
import { LookupPayoff } from './lookupPayoff';
import { lookupDraft } from './lookupDraft';

export interface SequenceLookup {
  /** Attach on getSequence({ tokenPredictor }). */
  readonly predictor: TokenPredictor;
  /** Whether drafts are made now; false once they did not pay. */
  enabled: boolean;
  readonly payoff: LookupPayoff;
}

export function createSequenceLookup(lib: NodeLlamaCpp): SequenceLookup {
  const state = { enabled: true, tokens: [] as Token[] };
  // node-llama-cpp's InputLookupTokenPredictor looks only in the completion's input (for a chat,
  // the last user message), never in the answer so far or the rest of the history.
  class SequenceTokensLookup extends lib.TokenPredictor {
    reset(params: { stateTokens: Token[] }): void {
      state.tokens = params.stateTokens.slice();
    }
    pushTokens(tokens: Token[]): void {
      for (const token of tokens) state.tokens.push(token);
    }
    predictTokens(): Token[] {
      return state.enabled ? (lookupDraft(state.tokens) as Token[]) : [];
    }
    override dispose(): void {
      state.tokens = [];
    }
  }
  return {
    predictor: new SequenceTokensLookup(),
    get enabled() {
      return state.enabled;
    },
    set enabled(on: boolean) {
      state.enabled = on;
    },
    payoff: new LookupPayoff(),
  };
}
