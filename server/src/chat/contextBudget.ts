// One chat turn fitted into the context, in a fixed order of priority: the question (never cut),
// the user's mentions, what @codebase retrieved (at most a set share of the context), the recent
// turns, the older turns. What does not fit is trimmed (a mention keeps its head, cut at a line)
// or left out, and each such loss is said in a note. Counted in estimated tokens
// (tokenEstimate.ts), with room kept for the answer. Pure.
import type { ChatPart, ChatTurn } from '../shared/protocol';
import { formatPart } from './chatParts';
import { estimateTokens, messageOverheadTokens, messageTokens } from './tokenEstimate';

export interface BudgetLimits {
  /** The context's tokens: prompt and answer. */
  contextTokens: number;
  /** Tokens kept free for the answer. */
  answerTokens: number;
  /** The largest share of the prompt's tokens that retrieval may take. */
  retrievalShare: number;
}

export const defaultRetrievalShare = 0.35;
/** A mention cut below this many tokens says too little to be worth its heading: it is left out instead. */
export const minTrimmedTokens = 48;

/** An earlier turn; `answerTokens` is the answer's real length when the model generated it here. */
export interface HistoryTurn extends ChatTurn {
  answerTokens?: number;
}

/** The estimated tokens of an earlier turn's two messages (the answer's real count when known). */
export function turnTokens(turn: HistoryTurn): { user: number; assistant: number } {
  return {
    user: messageTokens(turn.user),
    assistant: turn.answerTokens !== undefined ? turn.answerTokens + messageOverheadTokens : messageTokens(turn.assistant),
  };
}

export interface TurnInput {
  system: string;
  question: string;
  /** The user's mentions, in the order given. */
  mentions: readonly ChatPart[];
  /** Retrieved chunks, best first. */
  retrieved: readonly ChatPart[];
  /** Earlier turns, oldest first. */
  history: readonly HistoryTurn[];
}

export type Fit = 'whole' | 'trimmed' | 'dropped';

export interface FittedPart {
  part: ChatPart;
  /** As it goes into the question; '' when dropped. */
  text: string;
  /** Estimated tokens of `text`, or of the whole part when dropped. */
  tokens: number;
  fit: Fit;
  /** Lines of the part's text that were kept, when trimmed. */
  keptLines?: number;
}

export interface FittedTurn {
  turn: HistoryTurn;
  /** Estimated tokens of both messages. */
  tokens: number;
  kept: boolean;
}

export interface FittedTurnPrompt {
  systemTokens: number;
  questionTokens: number;
  mentions: FittedPart[];
  retrieved: FittedPart[];
  /** Oldest first, as given. */
  history: FittedTurn[];
  /** The new user message: the kept parts, then the question. */
  userMessage: string;
  /** Estimated tokens of everything kept, the template included. */
  promptTokens: number;
  notes: string[];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Fits one turn into `limits`; the question is always kept whole. */
export function fitTurn(input: TurnInput, limits: BudgetLimits): FittedTurnPrompt {
  const promptBudget = Math.max(0, limits.contextTokens - limits.answerTokens);
  const systemTokens = messageTokens(input.system);
  const questionTokens = messageTokens(input.question);
  const notes: string[] = [];
  let left = promptBudget - systemTokens - questionTokens;
  if (left < 0) {
    notes.push(
      `The question alone is about ${questionTokens} tokens, more than the ${promptBudget} the context has for a prompt; everything else was left out.`,
    );
  }

  const mentions = fitMentions(input.mentions, Math.max(0, left));
  for (const m of mentions) {
    left -= m.fit === 'dropped' ? 0 : m.tokens;
    if (m.fit === 'trimmed') notes.push(`${m.part.label} trimmed to ${plural(m.keptLines ?? 0, 'line')}`);
    if (m.fit === 'dropped') notes.push(`${m.part.label} left out: it did not fit the context`);
  }

  let retrievalRoom = Math.min(Math.max(0, left), Math.floor(promptBudget * limits.retrievalShare));
  const retrieved = input.retrieved.map((part): FittedPart => {
    const text = formatPart(part);
    const tokens = estimateTokens(text);
    if (tokens > retrievalRoom) return { part, text: '', tokens, fit: 'dropped' };
    retrievalRoom -= tokens;
    left -= tokens;
    return { part, text, tokens, fit: 'whole' };
  });
  const unfit = retrieved.filter((r) => r.fit === 'dropped').length;
  if (unfit > 0) notes.push(`${plural(unfit, 'retrieved chunk')} did not fit`);

  // Newest first; the first turn that does not fit ends the history, so what is kept is contiguous.
  const history: FittedTurn[] = input.history.map((turn) => {
    const { user, assistant } = turnTokens(turn);
    return { turn, tokens: user + assistant, kept: false };
  });
  for (let i = history.length - 1; i >= 0; i--) {
    if (history[i].tokens > left) break;
    history[i].kept = true;
    left -= history[i].tokens;
  }
  const lostTurns = history.filter((t) => !t.kept).length;
  if (lostTurns > 0) notes.push(`${plural(lostTurns, 'older turn')} left out`);

  const kept = [...mentions, ...retrieved].filter((p) => p.fit !== 'dropped');
  const userMessage = kept.map((p) => p.text).join('') + input.question;
  const promptTokens = systemTokens + messageTokens(userMessage) + history.filter((t) => t.kept).reduce((sum, t) => sum + t.tokens, 0);
  return { systemTokens, questionTokens, mentions, retrieved, history, userMessage, promptTokens, notes };
}

/**
 * The mentions within `room` tokens: all whole when they fit; else the room is shared out, the
 * smallest first, so that one large file does not crowd out a small selection: a mention within
 * its share stays whole, a larger one keeps the head that fits its share, cut at a line.
 */
function fitMentions(mentions: readonly ChatPart[], room: number): FittedPart[] {
  const whole = mentions.map((part) => {
    const text = formatPart(part);
    return { part, text, tokens: estimateTokens(text), fit: 'whole' as Fit };
  });
  if (whole.reduce((sum, m) => sum + m.tokens, 0) <= room) return whole;
  const order = whole.map((_, i) => i).sort((a, b) => whole[a].tokens - whole[b].tokens);
  const fitted: FittedPart[] = [...whole];
  let left = room;
  order.forEach((index, position) => {
    const share = Math.floor(left / (order.length - position));
    const m = whole[index];
    if (m.tokens <= share) {
      left -= m.tokens;
      return;
    }
    const trimmed = trimToTokens(m.part, share);
    fitted[index] = trimmed;
    if (trimmed.fit !== 'dropped') left -= trimmed.tokens;
  });
  return fitted;
}

/** The part's head, whole lines, within `tokens` once formatted; dropped when too little is left. */
export function trimToTokens(part: ChatPart, tokens: number): FittedPart {
  const whole = estimateTokens(formatPart(part));
  if (tokens < minTrimmedTokens) return { part, text: '', tokens: whole, fit: 'dropped' };
  const lines = part.text.split('\n');
  // The longest head that fits, by bisection over the number of lines.
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const cost = estimateTokens(formatPart(part, lines.slice(0, mid).join('\n'), lines.length - mid));
    if (cost <= tokens) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0) return { part, text: '', tokens: whole, fit: 'dropped' };
  const text = formatPart(part, lines.slice(0, lo).join('\n'), lines.length - lo);
  return { part, text, tokens: estimateTokens(text), fit: 'trimmed', keptLines: lo };
}
