// One chat answer on the chat sequence, continuing from its exact tokens when it can (#24).
// node-llama-cpp's LlamaChat renders the whole conversation from its messages' texts on every
// turn, so a follow-up reuses the KV cache only as far as the last answer's text tokenizes back to
// the tokens generated (its lastEvaluation context window is text as well). So a follow-up of the
// conversation the sequence holds (chatTokens.ts) is generated here from tokens: the exact tokens
// held, then what the template writes after the answer, by a LlamaCompletion on the same
// sequence; its prefix reuse then evaluates only the new part. Every other turn goes through
// LlamaChat as before, and any template that does more than text and stop triggers (segments,
// function calls, prefix triggers) always does.
import type {
  ChatHistoryItem,
  LlamaChat,
  LlamaCompletion,
  LlamaContextSequence,
  LlamaText,
  LlamaTextJSON,
  LlamaTextJSONValue,
  Token,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { NodeLlamaCpp } from './backend';
import { continues, recordTurn, templateAfter, type ChatTokenRecord } from './chatTokens';
import type { HostChatMessage, PrefillResult } from '../../engine/types';
import { evaluateAhead, prefillBatchTokens } from './evaluateAhead';

/** LlamaChat's stop reasons; a follow-up's stop trigger is reported as LlamaChat reports it. */
export type ChatStopReason = 'eogToken' | 'stopGenerationTrigger' | 'functionCalls' | 'maxTokens' | 'abort' | 'customStopTrigger';

export interface ChatAnswer {
  text: string;
  stopReason: ChatStopReason;
  /** The prompt's length in tokens when this turn knows it; null leaves it to the sequence's count. */
  promptTokens: number | null;
}

export interface ChatAnswerOptions {
  maxTokens: number;
  signal: AbortSignal;
  onTextChunk: (text: string) => void;
  /** Whether a LlamaCompletion prepends BOS to the tokens it is given (the engine's prependsBos). */
  bosPrepended: boolean;
  /** Says why a turn is evaluated in full (the host's own log). */
  trace?: (line: string) => void;
}

/** Tokens before the answer given to detokenize, so its first piece reads as it does in context. */
const contextTokensForText = 8;

export function toHistoryItem(m: HostChatMessage): ChatHistoryItem {
  if (m.role === 'assistant') return { type: 'model', response: [m.text] };
  return { type: m.role, text: m.text };
}

/** The messages as LlamaChat's history, with the model's answer still to come. */
function answerHistory(messages: readonly HostChatMessage[]): ChatHistoryItem[] {
  return [...messages.map(toHistoryItem), { type: 'model', response: [] }];
}

/** The tokens LlamaChat evaluates before it generates an answer to `history`. */
function fullPrompt(chat: LlamaChat, history: ChatHistoryItem[]): Token[] {
  return chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(chat.model.tokenizer);
}

const piecesOf = (json: LlamaTextJSON): LlamaTextJSONValue[] => (typeof json === 'string' ? [json] : json);

/**
 * What the chat sequence holds, and the LlamaCompletion that continues it. One per load: it
 * belongs to the sequence. The record is saved with the sequence's state across sleep.
 */
export class ChatTurns {
  /** The conversation the chat sequence holds; null when unknown (then the next turn is evaluated in full). */
  record: ChatTokenRecord | null = null;
  private completion: LlamaCompletion | null = null;

  constructor(private readonly sequence: LlamaContextSequence) {}

  /**
   * Evaluates what an answer to `messages` would evaluate before it generates, but its last token
   * (the answer evaluates that one itself, to sample from it): a draft's prefill. The answer that
   * follows with the same messages then evaluates one token; with others, only what differs.
   */
  async prefill(
    lib: NodeLlamaCpp,
    chat: LlamaChat,
    messages: HostChatMessage[],
    options: Pick<ChatAnswerOptions, 'maxTokens' | 'bosPrepended' | 'signal'>,
  ): Promise<PrefillResult> {
    const history = answerHistory(messages);
    const follow = this.followUp(lib, chat, messages, history, this.record, options);
    const prompt = typeof follow !== 'string' ? follow.tokens : fullPrompt(chat, history);
    // Anything but a follow-up replaces what the sequence held, as that answer would.
    if (typeof follow === 'string') this.record = null;
    return evaluateAhead(this.sequence, prompt.slice(0, -1), options.signal, prefillBatchTokens.chat, prompt.length);
  }

  async answer(lib: NodeLlamaCpp, chat: LlamaChat, messages: HostChatMessage[], options: ChatAnswerOptions): Promise<ChatAnswer> {
    const record = this.record;
    // Whatever happens below changes the sequence: until the turn ends well, nothing is known.
    this.record = null;
    const history = answerHistory(messages);
    const follow = this.followUp(lib, chat, messages, history, record, options);
    let prompt: readonly Token[];
    let answer: ChatAnswer;
    if (typeof follow !== 'string') {
      this.completion ??= new lib.LlamaCompletion({ contextSequence: this.sequence });
      prompt = follow.tokens;
      const response = await this.completion.generateCompletionWithMeta(options.bosPrepended ? prompt.slice(1) : [...prompt], {
        maxTokens: options.maxTokens,
        // Prompt and answer fit (followUp checked); the default would cut the prompt's front.
        contextShiftSize: options.maxTokens,
        customStopTriggers: follow.stopTriggers,
        signal: options.signal,
        stopOnAbortSignal: true,
        onTextChunk: options.onTextChunk,
      });
      const reason = response.metadata.stopReason;
      answer = {
        text: response.response,
        stopReason: reason === 'customStopTrigger' ? 'stopGenerationTrigger' : reason,
        promptTokens: prompt.length,
      };
    } else {
      options.trace?.(`Chat turn evaluated from its text: ${follow}.`);
      prompt = fullPrompt(chat, history);
      const response = await chat.generateResponse(history, {
        maxTokens: options.maxTokens,
        signal: options.signal,
        stopOnAbortSignal: true,
        onTextChunk: options.onTextChunk,
      });
      answer = { text: response.response, stopReason: response.metadata.stopReason, promptTokens: null };
    }
    const before = prompt.slice(-contextTokensForText);
    this.record = recordTurn(messages, answer.text, prompt, this.sequence.contextTokens, (tokens) =>
      chat.model.detokenize(tokens as Token[], false, before),
    );
    if (!this.record)
      options.trace?.('The chat sequence does not hold this turn as its answer reads; the next turn is evaluated from its text.');
    return answer;
  }

  /**
   * The exact tokens of a follow-up of the recorded conversation: those held, the answer's
   * unevaluated tail, then what the template writes after the answer; else why not (the messages
   * do not continue it, the template does more than text, or prompt and answer would not fit).
   */
  private followUp(
    lib: NodeLlamaCpp,
    chat: LlamaChat,
    messages: HostChatMessage[],
    history: ChatHistoryItem[],
    record: ChatTokenRecord | null,
    options: Pick<ChatAnswerOptions, 'maxTokens' | 'bosPrepended'>,
  ): { tokens: Token[]; stopTriggers: readonly LlamaText[] } | string {
    const held = this.sequence.contextTokens;
    if (!record) return 'the chat sequence holds no known conversation';
    if (!continues(record, messages, held)) return 'it does not continue the conversation the chat sequence holds';
    const wrapper = chat.chatWrapper;
    const full = wrapper.generateContextState({ chatHistory: history });
    if (!plainText(full)) return `the chat template (${wrapper.wrapperName}) does more than text`;
    const answered = messages.slice(0, record.messageCount);
    const answer = answered.at(-1)!.text;
    const open = wrapper.generateContextState({ chatHistory: answered.map(toHistoryItem) });
    const after = templateAfter(piecesOf(open.contextText.toJSON()), piecesOf(full.contextText.toJSON()), answer);
    if (!after) return `the chat template (${wrapper.wrapperName}) writes the earlier turns otherwise`;
    const model = chat.model;
    const rest = lib.LlamaText.fromJSON([record.tail, ...after]).tokenize(model.tokenizer, 'trimLeadingSpace');
    const tokens = [...held.slice(0, record.tokenCount), ...rest];
    // LlamaCompletion cuts the front of a prompt that leaves less room than the answer may take.
    if (tokens.length + options.maxTokens > this.sequence.contextSize) {
      return `its ${tokens.length} tokens and an answer of ${options.maxTokens} would not fit the context`;
    }
    if (options.bosPrepended && tokens[0] !== model.tokens.bos) return 'the chat template does not begin with BOS';
    return { tokens, stopTriggers: full.stopGenerationTriggers };
  }

  dispose(): void {
    this.completion?.dispose({ disposeSequence: false });
    this.completion = null;
    this.record = null;
  }
}

/** Whether a rendered chat is text and stop triggers only: nothing LlamaChat alone handles. */
function plainText(state: ReturnType<LlamaChat['chatWrapper']['generateContextState']>): boolean {
  const s = state as Partial<
    Record<'ignoreStartText' | 'prefixTriggers' | 'functionCall' | 'noPrefixTrigger' | 'rerender' | 'userTextSuffix', unknown>
  >;
  const empty = (v: unknown): boolean => v == null || (Array.isArray(v) && v.length === 0);
  return (
    empty(s.ignoreStartText) &&
    empty(s.prefixTriggers) &&
    empty(s.functionCall) &&
    empty(s.noPrefixTrigger) &&
    empty(s.rerender) &&
    empty(s.userTextSuffix)
  );
}
