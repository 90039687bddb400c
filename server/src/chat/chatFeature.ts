// localLlm/chat, chatReset, chatRestore and lastChatPrompt: one turn is assembled from the
// question, the client's mentions, @codebase's chunks and the history, fitted into the context
// (contextBudget.ts), run through the gate and streamed as partial results; what was left out is
// said in the result's notes, and the exact prompt is kept for lastChatPrompt.
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
  ChatRequest,
  ChatResetRequest,
  ChatRestoreRequest,
  LastChatPromptRequest,
  type ChatChunk,
  type ChatParams,
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
import { planTurn } from './turnPlan';
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

export class ChatFeature implements Feature {
  private readonly history = new ChatHistory();
  private lastPrompt: LastChatPrompt | null = null;

  constructor(private readonly options: ChatFeatureOptions) {}

  initialize(): ServerCapabilities {
    const { connection } = this.options;
    connection.onRequest(ChatRequest.method, (params: unknown, token: CancellationToken) => this.turn(params, token));
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

  private async turn(raw: unknown, token: CancellationToken): Promise<ChatResult> {
    const { connection, gate, driver } = this.options;
    if (!isChatParams(raw)) {
      throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chat needs a sessionId and a message (both strings).');
    }
    const params = raw;
    if (params.codebase !== undefined && typeof params.codebase !== 'boolean') {
      throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chat: codebase must be true or false.');
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
    if (params.codebase === true) {
      // The index's share of a turn's time to first token (bench/codebaseFirstToken.ts reads it).
      const ms = (performance.now() - searchStarted).toFixed(1);
      connection.console.log(`@codebase: ${codebase.parts.length} chunk${codebase.parts.length === 1 ? '' : 's'} in ${ms} ms.`);
    }

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
    const { messages, parts, included, fitted, answerTokens } = plan;
    const notes = [...refusedNotes, ...codebase.notes, ...fitted.notes];
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
