// localLlm/chat and localLlm/chatReset: one turn through the gate, streamed as partial results.
import { ProgressType, ResponseError, type CancellationToken, type Connection } from 'vscode-languageserver/node';
import { ChatRequest, ChatResetRequest, type ChatChunk, type ChatParams, type ChatResult } from '../shared/protocol';
import { ChatHistory } from './history';
import { GateCancelledError, GateUnavailableError, type ResumeGate } from '../lifecycle/gate';
import type { ModelService } from '../lifecycle/modelDriver';
import { abortSignalOf } from '../shared/cancellation';

const chunkProgress = new ProgressType<ChatChunk>();
const maxAnswerTokens = 1024;
const maxQuestionChars = 100_000;

export function registerChat(connection: Connection, gate: ResumeGate, model: ModelService): ChatHistory {
  const history = new ChatHistory();

  connection.onRequest(ChatRequest.method, async (params: ChatParams, token: CancellationToken): Promise<ChatResult> => {
    if (!isChatParams(params)) {
      throw new ResponseError(-32602, 'localLlm/chat needs a sessionId and a message (both strings).');
    }
    if (params.message.length > maxQuestionChars) {
      throw new ResponseError(-32602, `The question is too long (${params.message.length} characters; at most ${maxQuestionChars}).`);
    }
    const messages = history.messagesFor(params.sessionId, params.message, params.context);
    let text = '';
    const onChunk = (piece: string): void => {
      text += piece;
      if (params.partialResultToken !== undefined) {
        void connection.sendProgress(chunkProgress, params.partialResultToken, { text: piece });
      }
    };
    try {
      const result = await gate.run('chat', (signal) => model.chat({ messages, maxTokens: maxAnswerTokens }, onChunk, signal), abortSignalOf(token));
      history.record(params.sessionId, params.message, params.context, result.text);
      return { text: result.text, stopReason: result.stopReason };
    } catch (err) {
      if (err instanceof GateCancelledError) {
        return { text: '', stopReason: 'abort' };
      }
      // Keep what was said before a failure, so the question is not lost.
      if (text) history.record(params.sessionId, params.message, params.context, text);
      const message = err instanceof GateUnavailableError || err instanceof Error ? err.message : String(err);
      throw new ResponseError(-32803, message);
    }
  });

  connection.onRequest(ChatResetRequest.method, (params: unknown) => {
    if (!isRecord(params) || typeof params.sessionId !== 'string') {
      throw new ResponseError(-32602, 'localLlm/chatReset needs a sessionId (a string).');
    }
    history.reset(params.sessionId);
  });

  return history;
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
