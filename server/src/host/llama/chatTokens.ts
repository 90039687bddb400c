// The chat sequence's exact tokens, kept by what they hold (#24). A chat template renders a
// conversation from its messages' texts, and an answer's text does not always tokenize back to
// the tokens the model generated (random bytes, a token boundary the tokenizer would not choose),
// so a follow-up rendered from text alone would evaluate the answer again. The host records which
// conversation the sequence holds and how many of its tokens hold it; a follow-up whose earlier
// messages are exactly that conversation evaluates only what the template writes after the
// answer. Anything that does not match exactly is a full evaluation, never a wrong reuse.
// Pure: no node-llama-cpp here; the engine passes tokens, texts and the rendered template in.
import { createHash } from 'node:crypto';
import type { HostChatMessage } from '../../engine/types';

/** What the chat sequence holds: a conversation that ends with the model's answer, and its tokens. */
export interface ChatTokenRecord {
  /** Messages in the conversation, the answer last. */
  messageCount: number;
  /** conversationKey of those messages. */
  conversationKey: string;
  /** How many of the sequence's first tokens hold the conversation, exactly as evaluated. */
  tokenCount: number;
  /** tokensKey of those tokens: a sequence that holds others is never continued. */
  tokensKey: string;
  /** The end of the answer's text that those tokens do not cover (a last token generated but never evaluated). */
  tail: string;
}

/** A piece of a rendered chat template, as node-llama-cpp's LlamaText writes it to JSON. */
export type TemplatePiece = string | { type: string; value: string };

/** How far below the answer's length the kept generated tokens are looked for, token by token. */
const maxBackOffTokens = 16;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A digest of the messages' roles and texts, in order. */
export function conversationKey(messages: readonly HostChatMessage[]): string {
  return sha256(JSON.stringify(messages.map((m) => [m.role, m.text])));
}

/** A digest of a token list. */
export function tokensKey(tokens: readonly number[]): string {
  return sha256(tokens.join(','));
}

/**
 * The record of a finished turn: `messages` were answered with `answer` from `prompt` (the tokens
 * evaluated before the first generated one), and the sequence now holds `held`. The answer's part
 * kept is the longest run of generated tokens whose text begins the answer: the library evaluates
 * tokens it never shows (a stop trigger's; a run of half characters it holds back, which random
 * weights can make hundreds long), and those are not kept. The rest of the answer's text is the
 * tail, tokenized again at the follow-up. null when the sequence does not begin with the prompt
 * (the library shifted the context).
 */
export function recordTurn(
  messages: readonly HostChatMessage[],
  answer: string,
  prompt: readonly number[],
  held: readonly number[],
  detokenize: (tokens: readonly number[]) => string,
): ChatTokenRecord | null {
  if (held.length < prompt.length || prompt.some((token, i) => held[i] !== token)) return null;
  const generated = held.slice(prompt.length);
  const textOf = (count: number): string => detokenize(generated.slice(0, count));
  // The most tokens whose text is no longer than the answer (text grows with tokens, but for half
  // characters), then back to the first whose text begins the answer; none kept is always right.
  let low = 0;
  let high = generated.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (textOf(middle).length <= answer.length) low = middle;
    else high = middle - 1;
  }
  let kept = low;
  let text = textOf(kept);
  while (kept > 0 && !answer.startsWith(text)) {
    kept = low - kept >= maxBackOffTokens ? 0 : kept - 1;
    text = textOf(kept);
  }
  const tokens = held.slice(0, prompt.length + kept);
  const conversation = [...messages, { role: 'assistant' as const, text: answer }];
  return {
    messageCount: conversation.length,
    conversationKey: conversationKey(conversation),
    tokenCount: tokens.length,
    tokensKey: tokensKey(tokens),
    tail: answer.slice(text.length),
  };
}

/**
 * Whether `messages` (a new request) continue the conversation of `record` on a sequence that
 * holds `held`: the same earlier messages, the answer last among them, then new messages ending
 * with the user's; and the sequence still begins with the recorded tokens.
 */
export function continues(
  record: ChatTokenRecord | null,
  messages: readonly HostChatMessage[],
  held: readonly number[],
): record is ChatTokenRecord {
  if (!record || !continuesConversation(record, messages)) return false;
  return held.length >= record.tokenCount && tokensKey(held.slice(0, record.tokenCount)) === record.tokensKey;
}

/** Whether `messages` continue the conversation of `record` (its messages, the answer last, then the user's), tokens aside. */
export function continuesConversation(record: ChatTokenRecord, messages: readonly HostChatMessage[]): boolean {
  if (messages.length <= record.messageCount || messages.at(-1)?.role !== 'user') return false;
  if (messages[record.messageCount - 1]?.role !== 'assistant') return false;
  return conversationKey(messages.slice(0, record.messageCount)) === record.conversationKey;
}

/** Adjacent texts joined: a renderer may split one text into several. */
function joined<P extends TemplatePiece>(pieces: readonly P[]): P[] {
  const out: P[] = [];
  for (const piece of pieces) {
    const last = out.at(-1);
    if (typeof piece === 'string' && typeof last === 'string') out[out.length - 1] = (last + piece) as P;
    else if (piece !== '') out.push(piece);
  }
  return out;
}

/**
 * What `full` (the template of the whole new conversation) writes after `open` (the template of
 * the earlier conversation, its last message `answer` still open); null when `open` does not end
 * with the answer's text (a template that closes the turn itself) or `full` does not begin with
 * `open` (one that rewrites earlier turns): that follow-up is evaluated in full.
 */
export function templateAfter<P extends TemplatePiece>(open: readonly P[], full: readonly P[], answer: string): P[] | null {
  const before = joined(open);
  const after = joined(full);
  const last = before.length - 1;
  const a = before[last];
  if (answer === '' || typeof a !== 'string' || !a.endsWith(answer) || before.length > after.length) return null;
  for (let i = 0; i < last; i++) {
    if (!samePiece(before[i]!, after[i]!)) return null;
  }
  const b = after[last]!;
  if (typeof b !== 'string' || !b.startsWith(a)) return null;
  return joined([b.slice(a.length) as P, ...after.slice(last + 1)]);
}

function samePiece(a: TemplatePiece, b: TemplatePiece): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.type === b.type && a.value === b.value;
}

/** The record saved with the chat sequence's state, checked field by field (the file is the user's); null when it is not one. */
export function parseChatTokenRecord(value: unknown): ChatTokenRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Partial<Record<keyof ChatTokenRecord, unknown>>;
  const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (!count(r.messageCount) || !count(r.tokenCount)) return null;
  if (typeof r.conversationKey !== 'string' || typeof r.tokensKey !== 'string' || typeof r.tail !== 'string') return null;
  return {
    messageCount: r.messageCount,
    conversationKey: r.conversationKey,
    tokenCount: r.tokenCount,
    tokensKey: r.tokensKey,
    tail: r.tail,
  };
}
