// Chat history per session, kept in the server as plain messages so it survives the model's
// sleep and wake. Bounded so that a long session cannot grow without end.
import type { ChatContext } from '../shared/protocol';
import type { HostChatMessage } from '../engine/types';

export const systemPrompt = 'You are a concise coding assistant inside the editor. Answer in Markdown and put code in fenced blocks.';

export interface HistoryLimits {
  /** Most characters of past turns sent to the model; older turns are dropped first. */
  maxChars: number;
  /** Most characters of editor context (selection or file) attached to one question. */
  maxContextChars: number;
  maxSessions: number;
}

export const defaultHistoryLimits: HistoryLimits = { maxChars: 12_000, maxContextChars: 6_000, maxSessions: 32 };

/** What one question sends to the model, and how it was made up. */
export interface ChatPrompt {
  /** System prompt, the earlier turns that fit, then the question. */
  messages: HostChatMessage[];
  /** Characters of editor context in the question: the selection, cut to the limit. */
  contextChars: number;
  /** Earlier turns of the session that fit and were kept. */
  earlierTurns: number;
}

interface Turn {
  user: string;
  assistant: string;
}

export class ChatHistory {
  // Insertion order doubles as recency: a touched session is moved to the end.
  private readonly sessions = new Map<string, Turn[]>();

  constructor(private readonly limits: HistoryLimits = defaultHistoryLimits) {}

  /** The messages for a new question: system prompt, recent turns that fit, then the question. */
  messagesFor(sessionId: string, question: string, context?: ChatContext): HostChatMessage[] {
    return this.prompt(sessionId, question, context).messages;
  }

  /** The messages for a new question, with how much context and history they carry. */
  prompt(sessionId: string, question: string, context?: ChatContext): ChatPrompt {
    const { text: user, contextChars } = withContext(question, context, this.limits.maxContextChars);
    const turns = this.sessions.get(sessionId) ?? [];
    const kept: Turn[] = [];
    let budget = this.limits.maxChars - user.length;
    for (let i = turns.length - 1; i >= 0; i--) {
      const t = turns[i];
      budget -= t.user.length + t.assistant.length;
      if (budget < 0) break;
      kept.unshift(t);
    }
    const messages: HostChatMessage[] = [{ role: 'system', text: systemPrompt }];
    for (const t of kept) {
      messages.push({ role: 'user', text: t.user }, { role: 'assistant', text: t.assistant });
    }
    messages.push({ role: 'user', text: user });
    return { messages, contextChars, earlierTurns: kept.length };
  }

  /** Record a finished (or stopped) turn; an empty answer is kept so the question is not lost. */
  record(sessionId: string, question: string, context: ChatContext | undefined, answer: string): void {
    const turns = this.sessions.get(sessionId) ?? [];
    this.sessions.delete(sessionId);
    turns.push({ user: withContext(question, context, this.limits.maxContextChars).text, assistant: answer });
    // Never keep more than the window can use.
    let total = 0;
    let start = turns.length;
    while (start > 0 && total + turns[start - 1].user.length + turns[start - 1].assistant.length <= this.limits.maxChars) {
      start--;
      total += turns[start].user.length + turns[start].assistant.length;
    }
    this.sessions.set(sessionId, turns.slice(Math.min(start, turns.length - 1)));
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }

  reset(sessionId: string): void {
    this.sessions.delete(sessionId);
  }
}

function withContext(question: string, context: ChatContext | undefined, maxChars: number): { text: string; contextChars: number } {
  if (!context?.selection) return { text: question, contextChars: 0 };
  let code = context.selection.slice(0, maxChars);
  const contextChars = code.length;
  if (context.selection.length > maxChars) code += '\n… (cut)';
  const where = [context.fileName, context.languageId && `(${context.languageId})`].filter(Boolean).join(' ');
  const fence = code.includes('```') ? '````' : '```';
  return {
    text: `${question}\n\nContext${where ? ` from ${where}` : ''}:\n${fence}${context.languageId ?? ''}\n${code}\n${fence}`,
    contextChars,
  };
}
