// A fitted turn (contextBudget.ts) as what the model is sent (the messages), what the answer
// lists (included), and what `localLlm/lastChatPrompt` shows part by part: system, history, each
// mention, each retrieved chunk, the question; the kept parts' texts joined are the messages'
// texts. Pure.
import type { HostChatMessage } from '../engine/types';
import type { ChatIncluded, ChatPart, ChatPromptPart } from '../shared/protocol';
import { turnTokens, type FittedPart, type FittedTurnPrompt } from './contextBudget';

export interface AssembledTurn {
  messages: HostChatMessage[];
  parts: ChatPromptPart[];
  included: ChatIncluded[];
}

/** Mentions the server refused before fitting (an excluded file): listed as left out, never shown. */
export function assembleTurn(system: string, question: string, fitted: FittedTurnPrompt, refused: readonly ChatPart[] = []): AssembledTurn {
  const messages: HostChatMessage[] = [{ role: 'system', text: system }];
  const parts: ChatPromptPart[] = [{ kind: 'system', label: 'System prompt', text: system, tokens: fitted.systemTokens, fit: 'whole' }];
  fitted.history.forEach(({ turn, kept, tokens }, i) => {
    const n = i + 1;
    if (!kept) {
      parts.push({ kind: 'history', label: `Earlier turn ${n}`, text: '', tokens, fit: 'dropped' });
      return;
    }
    messages.push({ role: 'user', text: turn.user }, { role: 'assistant', text: turn.assistant });
    const cost = turnTokens(turn);
    parts.push(
      { kind: 'history', label: `Earlier question ${n}`, text: turn.user, tokens: cost.user, fit: 'whole' },
      { kind: 'history', label: `Earlier answer ${n}`, text: turn.assistant, tokens: cost.assistant, fit: 'whole' },
    );
  });
  for (const m of fitted.mentions) parts.push(promptPart('mention', `@${m.part.kind} ${m.part.label}`, m));
  for (const r of fitted.retrieved) parts.push(promptPart('retrieved', r.part.label, r));
  parts.push({ kind: 'question', label: 'Question', text: question, tokens: fitted.questionTokens, fit: 'whole' });
  messages.push({ role: 'user', text: fitted.userMessage });

  const included: ChatIncluded[] = [
    ...fitted.mentions.map((m) => includedOf(m.part, m.fit)),
    ...refused.map((p) => includedOf(p, 'dropped')),
    // Retrieved chunks that did not fit are counted in a note, not listed one by one.
    ...fitted.retrieved.filter((r) => r.fit !== 'dropped').map((r) => includedOf(r.part, r.fit)),
  ];
  return { messages, parts, included };
}

function promptPart(kind: 'mention' | 'retrieved', label: string, p: FittedPart): ChatPromptPart {
  return { kind, label, text: p.text, tokens: p.tokens, fit: p.fit };
}

function includedOf(part: ChatPart, fit: ChatIncluded['fit']): ChatIncluded {
  return { kind: part.kind, label: part.label, ...(part.source ? { source: part.source } : {}), fit };
}
