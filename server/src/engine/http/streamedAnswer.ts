// The one reader of a streamed answer (a completion or a chat turn) for every model server: each
// server's events are read through its own small decoder into the same parts (the text piece, the
// stop reason, whether the answer ends), and this file does the rest the same way for all: the
// text, the line limit of a completion (reading stops there, which stops the server's
// generation), the pieces as they come for a chat, and the server's figures, kept from every
// event and not only from the last one, so an answer cut short still has what the server said.
import type { StopReason } from '../../shared/protocol';
import { nthNewline } from '../../shared/text';
import { isRecord } from './adapter';
import type { HttpClient, RequestOptions } from './request';

/** What one event of a server's stream says, read by that server's decoder. */
export interface AnswerEvent {
  /** The text it adds ('' when none). */
  piece: string;
  /** The server's reason for stopping, when this event gives one. */
  stopReason?: StopReason;
  /** The event ends the answer: reading stops after it. */
  done?: boolean;
}

export interface AnswerRequest {
  path: string;
  body: unknown;
  /** Server-sent events (default), or one JSON object a line (Ollama). */
  format?: 'sse' | 'ndjson';
  /** A completion's line limit: the text is cut before this line break and reading stops. */
  maxLines?: number;
  /** Each piece of text as it comes (a chat answer that streams to the user). */
  onPiece?(piece: string): void;
}

export interface StreamedAnswer {
  text: string;
  /** Events that carried text: the generated tokens, where a server does not count them. */
  pieces: number;
  stopReason: StopReason;
  /**
   * Every field the server sent, the newest value of each that is not null (figures such as
   * `usage`, `timings` or `prompt_eval_count` come in some events only, often the last).
   */
  said: Record<string, unknown>;
}

/** Cuts `text` before its `maxLines`-th line break; null while it has fewer. */
export function cutAtLines(text: string, maxLines: number): string | null {
  const at = nthNewline(text, maxLines);
  return at < 0 ? null : text.slice(0, at);
}

/** POSTs the request and reads its streamed answer to the end, the line limit or the last event. */
export async function readStreamedAnswer(
  http: HttpClient,
  request: AnswerRequest,
  options: RequestOptions,
  decode: (event: Record<string, unknown>) => AnswerEvent,
): Promise<StreamedAnswer> {
  const answer: StreamedAnswer = { text: '', pieces: 0, stopReason: 'eos', said: {} };
  const maxLines = request.maxLines === undefined ? null : Math.max(1, request.maxLines);
  await http.stream(
    request.path,
    request.body,
    options,
    (data) => {
      if (!isRecord(data)) return true;
      for (const [key, value] of Object.entries(data)) if (value !== null && value !== undefined) answer.said[key] = value;
      const event = decode(data);
      if (event.piece) {
        answer.pieces++;
        answer.text += event.piece;
        request.onPiece?.(event.piece);
      }
      if (maxLines !== null) {
        const cut = cutAtLines(answer.text, maxLines);
        if (cut !== null) {
          answer.text = cut;
          answer.stopReason = 'maxLines';
          return false;
        }
      }
      if (event.stopReason) answer.stopReason = event.stopReason;
      return event.done !== true;
    },
    request.format ?? 'sse',
  );
  return answer;
}
