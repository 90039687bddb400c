// localLlm/chat, chatPrefill, chatReset, chatRestore and lastChatPrompt: one turn is assembled
// from the question, the client's mentions, @codebase's chunks and the history, fitted into the
// context (contextBudget.ts), run through the gate and streamed as partial results; what was left
// out is said in the result's notes, and the exact prompt is kept for lastChatPrompt. A draft the
// user is still writing is assembled the same way and its prompt evaluated ahead, through the
// gate's background door (never a wake), so that the turn, once sent, evaluates only what changed.
import {
  ErrorCodes,
  LSPErrorCodes,
  ProgressType,
  ResponseError,
  type CancellationToken,
  type Connection,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import type { Feature } from '../feature';
import {
  ChatPrefillRequest,
  ChatRequest,
  ChatResetRequest,
  ChatRestoreRequest,
  LastChatPromptRequest,
  type ChatChunk,
  type ChatParams,
  type ChatPrefillResult,
  type ChatResult,
  type LastChatPrompt,
} from '../shared/protocol';
import type { Settings } from '../shared/settings';
import { ChatHistory, contextPart, defaultHistoryLimits } from './history';
import { GateCancelledError, type ResumeGate } from '../lifecycle/gate';
import type { ModelDriver } from '../lifecycle/modelDriver';
import { errorMessage } from '../shared/errors';
import { abortSignalOf } from '../shared/cancellation';
import { formatTokenFigures } from '../shared/format';
import { parseParts, parseTurns } from './chatParts';
import type { FittedTurnPrompt } from './contextBudget';
import { bytesPerToken } from './tokenEstimate';
import { planTurn, type TurnPlan } from './turnPlan';
import { stoppedPrefill } from '../engine/types';
import { refuseExcluded, retrieveForQuestion, type CodebaseSource } from './turnSources';

const chunkProgress = new ProgressType<ChatChunk>();
const maxQuestionChars = 100_000;

export interface ChatFeatureOptions {
  connection: Connection;
  gate: ResumeGate;
  driver: ModelDriver;
  settings(): Settings;
  /** The workspace index for @codebase; null without a workspace folder. */
  workspace(): CodebaseSource | null;
}

/** A turn (or a draft) checked and planned: what it sends the model, and what it says of it. */
interface PreparedTurn {
  params: ChatParams;
  plan: TurnPlan;
  /** What was refused or left out, in sentences. */
  notes: string[];
  contextTokens: number;
  /** @codebase's chunks and the search's time; null without @codebase. */
  search: { chunks: number; ms: number } | null;
}

export class ChatFeature implements Feature {
  private readonly history = new ChatHistory();
  private lastPrompt: LastChatPrompt | null = null;
  /** Turns being answered: a draft's prefill then waits for the next draft, as its history is about to change. */
  private answering = 0;
  /** The draft prefill running, stopped by a newer draft or any turn. */
  private prefilling: AbortController | null = null;
  /** Drafts received, so that one planned after a newer one arrived is dropped. */
  private drafts = 0;

  constructor(private readonly options: ChatFeatureOptions) {}

  initialize(): ServerCapabilities {
    const { connection } = this.options;
    connection.onRequest(ChatRequest.method, (params: unknown, token: CancellationToken) => this.turn(params, token));
    connection.onRequest(ChatPrefillRequest.method, (params: unknown, token: CancellationToken) => this.prefill(params, token));
    connection.onRequest(ChatResetRequest.method, (params: unknown) => {
      if (!isRecord(params) || typeof params.sessionId !== 'string') {
        throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chatReset needs a sessionId (a string).');
      }
      this.history.reset(params.sessionId);
    });
    connection.onRequest(ChatRestoreRequest.method, (params: unknown) => {
      if (!isRecord(params) || typeof params.sessionId !== 'string') {
        throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chatRestore needs a sessionId (a string) and turns.');
      }
      const parsed = parseTurns(params.turns);
      if ('error' in parsed) throw new ResponseError(ErrorCodes.InvalidParams, parsed.error);
      this.history.restore(params.sessionId, parsed.turns);
    });
    // Exempt: reads what the last turn kept, never the model.
    connection.onRequest(LastChatPromptRequest.method, () => this.lastPrompt);
    return {};
  }

  /** Checks a turn's params and plans it: mentions refused or allowed, @codebase's chunks, the fitted prompt. */
  private async prepare(raw: unknown, method: string): Promise<PreparedTurn> {
    const { driver } = this.options;
    if (!isChatParams(raw)) {
      throw new ResponseError(ErrorCodes.InvalidParams, `${method} needs a sessionId and a message (both strings).`);
    }
    const params = raw;
    if (params.codebase !== undefined && typeof params.codebase !== 'boolean') {
      throw new ResponseError(ErrorCodes.InvalidParams, `${method}: codebase must be true or false.`);
    }
    if (params.message.length > maxQuestionChars) {
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `The question is too long (${params.message.length} characters; at most ${maxQuestionChars}).`,
      );
    }
    const parsed = parseParts(params.parts);
    if ('error' in parsed) throw new ResponseError(ErrorCodes.InvalidParams, parsed.error);

    const settings = this.options.settings();
    const workspace = this.options.workspace();
    const fromEditor = contextPart(params.context, defaultHistoryLimits.maxContextChars);
    const mentions = [...(fromEditor ? [fromEditor] : []), ...parsed.parts];
    const { allowed, refused, notes: refusedNotes } = refuseExcluded(mentions, settings.context.exclude, workspace);
    const searchStarted = performance.now();
    const codebase = params.codebase === true ? await retrieveForQuestion(workspace, params.message, allowed) : { parts: [], notes: [] };
    const search = params.codebase === true ? { chunks: codebase.parts.length, ms: performance.now() - searchStarted } : null;

    // The model's own context when it is known (a server may run a smaller one), else the setting.
    const contextTokens = Math.min(settings.contextSize, driver.info?.contextSize ?? Infinity);
    const plan = planTurn({
      question: params.message,
      mentions: allowed,
      retrieved: codebase.parts,
      refused,
      history: this.history.turns(params.sessionId),
      contextTokens,
    });
    return { params, plan, notes: [...refusedNotes, ...codebase.notes, ...plan.fitted.notes], contextTokens, search };
  }

  /**
   * A draft's prompt evaluated ahead. Skipped (with why) when the setting is off, an answer is
   * being written, the model is not awake (never woken for this) or a server cannot take it;
   * stopped by a newer draft, a turn, a sleep or the client's cancel.
   */
  private async prefill(raw: unknown, token: CancellationToken): Promise<ChatPrefillResult> {
    const { connection, gate, driver } = this.options;
    this.prefilling?.abort();
    const draft = ++this.drafts;
    const skipped = (why: string): ChatPrefillResult => ({ promptTokens: 0, evaluatedTokens: 0, stopped: false, skipped: why });
    if (!this.options.settings().chat.prefill) return skipped('localLlm.chat.prefill is off.');
    const prepared = await this.prepare(raw, 'localLlm/chatPrefill');
    if (this.answering > 0) return skipped('An answer is being written; the next draft is read after it.');
    // A newer draft came while this one was planned: this one is not read.
    if (draft !== this.drafts) return stoppedPrefill;
    const controller = new AbortController();
    this.prefilling = controller;
    const stop = AbortSignal.any([controller.signal, abortSignalOf(token)]);
    const { messages, answerTokens } = prepared.plan;
    try {
      const work = gate.runBackground((signal) =>
        driver.chatPrefill({ messages, maxTokens: answerTokens }, AbortSignal.any([signal, stop])),
      );
      if (!work) return { ...skipped('The model is not awake; the prompt is read when the question is sent.'), retryWhenReady: true };
      const result = await work;
      if (result === null) {
        return skipped(
          'Not read ahead: this engine reads the prompt when the question is sent (a model server that keeps no prompt cache or sleeps, or a model without a chat template).',
        );
      }
      connection.console.debug(
        `Chat draft prefill: ${result.evaluatedTokens} tokens evaluated, ${result.promptTokens} in the prompt${result.stopped ? '; stopped' : ''}.`,
      );
      return result;
    } catch (err) {
      if (stop.aborted) return stoppedPrefill;
      throw new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(err));
    } finally {
      if (this.prefilling === controller) this.prefilling = null;
    }
  }

  private async turn(raw: unknown, token: CancellationToken): Promise<ChatResult> {
    // The turn replaces any draft's prefill (what it evaluated stays in the sequence), and a draft
    // planned from the history before this turn is not evaluated.
    this.prefilling?.abort();
    this.answering++;
    try {
      return await this.answer(raw, token);
    } finally {
      this.answering--;
    }
  }

  private async answer(raw: unknown, token: CancellationToken): Promise<ChatResult> {
    const { connection, gate, driver } = this.options;
    const { params, plan, notes, contextTokens, search } = await this.prepare(raw, 'localLlm/chat');
    if (search) {
      // The index's share of a turn's time to first token (bench/codebaseFirstToken.ts reads it).
      connection.console.log(`@codebase: ${search.chunks} chunk${search.chunks === 1 ? '' : 's'} in ${search.ms.toFixed(1)} ms.`);
    }
    const { messages, parts, included, fitted, answerTokens } = plan;
    const prompt: LastChatPrompt = {
      sessionId: params.sessionId,
      parts,
      budgetTokens: contextTokens,
      figures: null,
      notes,
      at: Date.now(),
    };
    this.lastPrompt = prompt;
    connection.console.log(describeTurn(params, fitted, notes));

    const extras = { ...(included.length > 0 ? { included } : {}), ...(notes.length > 0 ? { notes } : {}) };
    let text = '';
    const onChunk = (piece: string): void => {
      text += piece;
      if (params.partialResultToken !== undefined) {
        void connection.sendProgress(chunkProgress, params.partialResultToken, { text: piece });
      }
    };
    try {
      const result = await gate.run(
        'chat',
        (signal) => driver.chat({ messages, maxTokens: answerTokens }, onChunk, signal),
        abortSignalOf(token),
      );
      prompt.figures = result.figures;
      connection.console.log(
        `Chat answer: ${formatTokenFigures(result.figures)}; ${result.tokens} tokens generated (${result.stopReason}).`,
      );
      this.history.record(params.sessionId, plan.userMessage, result.text, result.tokens);
      return { text: result.text, stopReason: result.stopReason, ...extras };
    } catch (err) {
      if (err instanceof GateCancelledError) {
        return { text: '', stopReason: 'abort', ...extras };
      }
      // Keep what was said before a failure, so the question is not lost.
      if (text) this.history.record(params.sessionId, plan.userMessage, text);
      throw new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(err));
    }
  }
}

/**
 * "Chat turn: a 24-character question with 377 characters of context from src/fib.ts; 1 earlier
 * turn kept; about 412 of 3072 prompt tokens (UTF-8 bytes / 3)."
 */
function describeTurn(params: ChatParams, fitted: FittedTurnPrompt, notes: readonly string[]): string {
  let contextChars = 0;
  for (const p of [...fitted.mentions, ...fitted.retrieved]) {
    if (p.fit === 'whole') contextChars += p.part.text.length;
    else if (p.fit === 'trimmed') contextChars += p.part.text.split('\n').slice(0, p.keptLines).join('\n').length;
  }
  const from = params.context?.fileName && params.context.selection ? ` from ${params.context.fileName}` : '';
  const context = contextChars > 0 ? `with ${contextChars} characters of context${from}` : 'without editor context';
  const earlier = fitted.history.filter((t) => t.kept).length;
  const counts = [
    fitted.mentions.length > 0 ? `${fitted.mentions.length} mention${fitted.mentions.length === 1 ? '' : 's'}` : '',
    fitted.retrieved.length > 0
      ? `${fitted.retrieved.filter((r) => r.fit !== 'dropped').length} of ${fitted.retrieved.length} retrieved chunks`
      : '',
  ].filter(Boolean);
  return (
    `Chat turn: a ${params.message.length}-character question ${context}; ${earlier} earlier turn${earlier === 1 ? '' : 's'} kept` +
    `${counts.length > 0 ? `; ${counts.join(', ')}` : ''}; about ${fitted.promptTokens} prompt tokens (UTF-8 bytes / ${bytesPerToken}).` +
    (notes.length > 0 ? ` Notes: ${notes.join('; ')}.` : '')
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isChatParams(v: unknown): v is ChatParams {
  if (!isRecord(v) || typeof v.sessionId !== 'string' || typeof v.message !== 'string') return false;
  if (v.context === undefined || v.context === null) return true;
  if (!isRecord(v.context)) return false;
  const c = v.context;
  return ['fileName', 'languageId', 'selection'].every((k) => c[k] === undefined || typeof c[k] === 'string');
}
