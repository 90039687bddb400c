// localLlm/chat and localLlm/chatReset: one turn through the gate, streamed as partial results.
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
import { ChatRequest, ChatResetRequest, type ChatChunk, type ChatParams, type ChatResult } from '../shared/protocol';
import { ChatHistory } from './history';
import { GateCancelledError, type ResumeGate } from '../lifecycle/gate';
import type { ModelDriver } from '../lifecycle/modelDriver';
import { errorMessage } from '../shared/errors';
import { abortSignalOf } from '../shared/cancellation';
import { formatTokenFigures } from '../shared/format';

const chunkProgress = new ProgressType<ChatChunk>();
const maxAnswerTokens = 1024;
const maxQuestionChars = 100_000;

export class ChatFeature implements Feature {
  constructor(private readonly options: { connection: Connection; gate: ResumeGate; driver: ModelDriver }) {}

  initialize(): ServerCapabilities {
    registerChat(this.options.connection, this.options.gate, this.options.driver);
    return {};
  }
}

function registerChat(connection: Connection, gate: ResumeGate, model: ModelDriver): void {
  const history = new ChatHistory();

  connection.onRequest(ChatRequest.method, async (params: ChatParams, token: CancellationToken): Promise<ChatResult> => {
    if (!isChatParams(params)) {
      throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chat needs a sessionId and a message (both strings).');
    }
    if (params.message.length > maxQuestionChars) {
      throw new ResponseError(
        ErrorCodes.InvalidParams,
        `The question is too long (${params.message.length} characters; at most ${maxQuestionChars}).`,
      );
    }
    const { messages, contextChars, earlierTurns } = history.prompt(params.sessionId, params.message, params.context);
    connection.console.log(describeTurn(params, contextChars, earlierTurns));
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
        (signal) => model.chat({ messages, maxTokens: maxAnswerTokens }, onChunk, signal),
        abortSignalOf(token),
      );
      connection.console.log(
        `Chat answer: ${formatTokenFigures(result.figures)}; ${result.tokens} tokens generated (${result.stopReason}).`,
      );
      history.record(params.sessionId, params.message, params.context, result.text);
      return { text: result.text, stopReason: result.stopReason };
    } catch (err) {
      if (err instanceof GateCancelledError) {
        return { text: '', stopReason: 'abort' };
      }
      // Keep what was said before a failure, so the question is not lost.
      if (text) history.record(params.sessionId, params.message, params.context, text);
      throw new ResponseError(LSPErrorCodes.RequestFailed, errorMessage(err));
    }
  });

  connection.onRequest(ChatResetRequest.method, (params: unknown) => {
    if (!isRecord(params) || typeof params.sessionId !== 'string') {
      throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/chatReset needs a sessionId (a string).');
    }
    history.reset(params.sessionId);
  });
}

/** "Chat turn: a 24-character question with 377 characters of context from src/fib.ts; 1 earlier turn kept." */
function describeTurn(params: ChatParams, contextChars: number, earlierTurns: number): string {
  const from = params.context?.fileName ? ` from ${params.context.fileName}` : '';
  const context = contextChars > 0 ? `with ${contextChars} characters of context${from}` : 'without editor context';
  return `Chat turn: a ${params.message.length}-character question ${context}; ${earlierTurns} earlier turn${earlierTurns === 1 ? '' : 's'} kept.`;
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
