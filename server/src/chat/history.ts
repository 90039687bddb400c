// Chat history per session, kept in the server as the exact messages that were sent (a question
// with the mentions it carried), so that a follow-up's prompt starts with the same text as the
// last one and the model's cache of it is reused; it survives the model's sleep and wake. Which
// turns go into a prompt is the context budget's choice (contextBudget.ts); this only bounds the
// memory a long session or many sessions may take.
import type { ChatContext, ChatPart, ChatTurn } from '../shared/protocol';
import type { HistoryTurn } from './contextBudget';

export const systemPrompt = 'You are a concise coding assistant inside the editor. Answer in Markdown and put code in fenced blocks.';

export interface HistoryLimits {
  /** Most turns kept per session; the oldest go first. */
  maxTurns: number;
  /** Most characters kept per session; the oldest turns go first. */
  maxChars: number;
  /** Most characters of editor context (`ChatParams.context`, selection or file) taken from one question. */
  maxContextChars: number;
  maxSessions: number;
}

export const defaultHistoryLimits: HistoryLimits = { maxTurns: 200, maxChars: 1_000_000, maxContextChars: 6_000, maxSessions: 32 };

export class ChatHistory {
  // Insertion order doubles as recency: a touched session is moved to the end.
  private readonly sessions = new Map<string, HistoryTurn[]>();

  constructor(private readonly limits: HistoryLimits = defaultHistoryLimits) {}

  /** The session's turns, oldest first. */
  turns(sessionId: string): readonly HistoryTurn[] {
    return this.sessions.get(sessionId) ?? [];
  }

  /**
   * Records a finished (or stopped) turn; an empty answer is kept so that the question is not lost.
   * `answerTokens`: the tokens the model generated, a better count than any estimate of its text.
   */
  record(sessionId: string, user: string, assistant: string, answerTokens?: number): void {
    this.put(sessionId, [...this.turns(sessionId), { user, assistant, ...(answerTokens !== undefined ? { answerTokens } : {}) }]);
  }

  /** Replaces a session's turns (a kept chat reopened by the client). */
  restore(sessionId: string, turns: readonly ChatTurn[]): void {
    this.put(sessionId, [...turns]);
  }

  reset(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  private put(sessionId: string, turns: HistoryTurn[]): void {
    this.sessions.delete(sessionId);
    let chars = turns.reduce((sum, t) => sum + t.user.length + t.assistant.length, 0);
    let start = Math.max(0, turns.length - this.limits.maxTurns);
    for (let i = 0; i < start; i++) chars -= turns[i].user.length + turns[i].assistant.length;
    // Never drop the newest turn, whatever its size.
    while (chars > this.limits.maxChars && start < turns.length - 1) {
      chars -= turns[start].user.length + turns[start].assistant.length;
      start++;
    }
    this.sessions.set(sessionId, turns.slice(start));
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}

/** The editor context of `ChatParams.context` (the panel's "include the selection") as a mention; null without one. */
export function contextPart(context: ChatContext | undefined, maxChars: number): ChatPart | null {
  if (!context?.selection) return null;
  const label = context.fileName ?? 'the selection';
  return { kind: 'selection', label, text: context.selection.slice(0, maxChars) };
}
