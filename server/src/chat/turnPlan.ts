// One chat turn planned from its sources: the context's tokens split between the answer and the
// prompt, the parts and history fitted (contextBudget.ts), and the messages and the part-by-part
// account built (chatPrompt.ts). The server's chat and the benchmarks that replay its
// conversations use this one function, so both send the model the same messages. Pure.
import type { ChatPart } from '../shared/protocol';
import { assembleTurn, type AssembledTurn } from './chatPrompt';
import { defaultRetrievalShare, fitTurn, type FittedTurnPrompt, type HistoryTurn } from './contextBudget';
import { systemPrompt } from './history';

/** The most tokens one answer may have; a small context keeps half of itself for the answer instead. */
export const maxAnswerTokens = 1024;

export interface TurnSources {
  question: string;
  /** The mentions allowed into the prompt, in the user's order. */
  mentions: readonly ChatPart[];
  /** @codebase's chunks, best first. */
  retrieved: readonly ChatPart[];
  /** Mentions refused before fitting (an excluded file): listed as left out, never sent. */
  refused?: readonly ChatPart[];
  /** The session's earlier turns, oldest first. */
  history: readonly HistoryTurn[];
  /** The context's tokens (prompt and answer). */
  contextTokens: number;
}

export interface TurnPlan extends AssembledTurn {
  fitted: FittedTurnPrompt;
  /** Tokens the answer may take. */
  answerTokens: number;
  /** The new user message as sent: what the history records for this turn. */
  userMessage: string;
}

export function planTurn(sources: TurnSources): TurnPlan {
  // As the model host does: an answer of at most half the context, so that a question has room.
  const answerTokens = Math.min(maxAnswerTokens, Math.floor(sources.contextTokens / 2));
  const fitted = fitTurn(
    {
      system: systemPrompt,
      question: sources.question,
      mentions: sources.mentions,
      retrieved: sources.retrieved,
      history: sources.history,
    },
    { contextTokens: sources.contextTokens, answerTokens, retrievalShare: defaultRetrievalShare },
  );
  return {
    ...assembleTurn(systemPrompt, sources.question, fitted, sources.refused),
    fitted,
    answerTokens,
    userMessage: fitted.userMessage,
  };
}
