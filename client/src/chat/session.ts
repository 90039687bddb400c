// One chat conversation as the panel shows it: the turns, the answer being streamed, Stop and
// New chat. The model's own memory of the conversation lives in the server, keyed by sessionId;
// this copy is what the panel redraws from after it was hidden. No `vscode` import.
import type { ChatTurn, ToWebview } from '../../../media/messages';
import type { ChatContext, ChatParams, ChatPart, ChatPrefillResult, ChatResult } from '../../../server/src/shared/protocol';
import { errorMessage } from '../../../server/src/shared/errors';

/** One turn as the backend sends it; the progress tokens are the backend's. */
export type ChatTurnRequest = Omit<ChatParams, 'partialResultToken' | 'workDoneToken'>;

export interface ChatBackend {
  /** Runs one turn on the server; `onChunk` gets each streamed piece, `signal` stops it. */
  send(request: ChatTurnRequest, onChunk: (text: string) => void, signal: AbortSignal): Promise<ChatResult>;
  /** Has the server read a draft's prompt ahead (localLlm/chatPrefill); `signal` cancels it. */
  prefill(request: ChatTurnRequest, signal: AbortSignal): Promise<ChatPrefillResult>;
  reset(sessionId: string): Promise<void>;
}

export interface AttachedContext {
  context: ChatContext;
  label: string;
  /** The document's URI: what the question is about. */
  uri?: string;
}

/** What goes with a message besides its text. */
export interface TurnOptions {
  attached?: AttachedContext | null;
  /** Resolved mentions, in the order given. */
  parts?: ChatPart[];
  codebase?: boolean;
  /** The mentions' labels, shown on the user's turn. */
  mentionLabels?: string[];
  onChunk?: (text: string) => void;
}

export interface TurnOutcome {
  result: ChatResult;
  /** How many streamed pieces arrived before the result. */
  chunks: number;
}

export class ChatSession {
  private sessionId: string;
  private readonly turns: ChatTurn[] = [];
  private running: { turnId: string; abort: AbortController } | null = null;

  constructor(
    private readonly backend: ChatBackend,
    private readonly post: (message: ToWebview) => void,
    private readonly newId: () => string,
    /** Called after every turn that ended (answered, stopped or failed), e.g. to keep the chat. */
    private readonly turnEnded: (session: ChatSession) => void = () => undefined,
  ) {
    this.sessionId = newId();
  }

  get busy(): boolean {
    return this.running !== null;
  }

  get id(): string {
    return this.sessionId;
  }

  snapshotTurns(): ChatTurn[] {
    return this.turns.map((t) => ({ ...t }));
  }

  turn(id: string): ChatTurn | undefined {
    return this.turns.find((t) => t.id === id);
  }

  /** The request `send` would make of this message now; null when it would send nothing (empty, or an answer being written). */
  requestFor(message: string, options: TurnOptions = {}): ChatTurnRequest | null {
    const { attached, parts, codebase } = options;
    const text = message.trim();
    if ((text === '' && !parts?.length && !codebase) || this.running) return null;
    const request: ChatTurnRequest = { sessionId: this.sessionId, message: text };
    if (attached) request.context = attached.context;
    if (parts?.length) request.parts = parts;
    if (codebase) request.codebase = true;
    return request;
  }

  /** Sends one user message and streams the answer into the transcript. Rejects when busy or the server fails. */
  async send(message: string, options: TurnOptions = {}): Promise<TurnOutcome> {
    const { attached, parts, codebase, mentionLabels, onChunk } = options;
    const text = message.trim();
    if (text === '' && !parts?.length && !codebase) throw new Error('The message is empty.');
    if (this.running) throw new Error('An answer is still being written; stop it or wait for it first.');
    const request = this.requestFor(text, options)!;

    const user: ChatTurn = { id: this.newId(), role: 'user', text, state: 'done' };
    if (attached) user.contextLabel = attached.label;
    if (mentionLabels?.length) user.mentions = mentionLabels;
    const answer: ChatTurn = { id: this.newId(), role: 'assistant', text: '', state: 'streaming' };
    const about = parts?.find((p) => p.source && p.kind !== 'problems')?.source?.uri ?? attached?.uri;
    if (about) answer.about = about;
    this.turns.push(user, answer);
    const abort = new AbortController();
    this.running = { turnId: answer.id, abort };
    this.post({ type: 'turn', turn: { ...user } });
    this.post({ type: 'turn', turn: { ...answer } });
    this.post({ type: 'busy', busy: true });

    let chunks = 0;
    const sessionAtStart = this.sessionId;
    try {
      const result = await this.backend.send(
        request,
        (piece) => {
          chunks++;
          answer.text += piece;
          this.post({ type: 'chunk', turnId: answer.id, text: piece });
          onChunk?.(piece);
        },
        abort.signal,
      );
      // The final result is the whole answer; it wins over what the stream assembled.
      answer.text = result.text;
      if (result.included?.length) answer.included = result.included;
      if (result.notes?.length) answer.notes = result.notes;
      answer.state = result.stopReason === 'abort' ? 'stopped' : result.stopReason === 'error' ? 'error' : 'done';
      if (answer.state === 'error') answer.error = 'The model stopped with an error; see Show Logs.';
      return { result, chunks };
    } catch (err) {
      answer.state = abort.signal.aborted ? 'stopped' : 'error';
      if (answer.state === 'error') answer.error = errorMessage(err);
      if (answer.state === 'stopped') return { result: { text: answer.text, stopReason: 'abort' }, chunks };
      throw err;
    } finally {
      this.running = null;
      // A New chat while streaming already dropped this turn from the transcript.
      if (this.sessionId === sessionAtStart) {
        this.post({ type: 'turn', turn: { ...answer } });
        this.turnEnded(this);
      }
      this.post({ type: 'busy', busy: false });
    }
  }

  /** Takes over a kept chat: its id becomes the session's, its turns the transcript. */
  open(id: string, turns: readonly ChatTurn[]): void {
    this.stop();
    this.sessionId = id;
    this.turns.length = 0;
    // A turn that was streaming when it was kept ended there.
    this.turns.push(...turns.map((t) => (t.state === 'streaming' ? { ...t, state: 'stopped' as const } : { ...t })));
  }

  stop(): void {
    this.running?.abort.abort();
  }

  /** Forgets the conversation here and on the server, and starts a new session. */
  async reset(): Promise<void> {
    this.stop();
    const old = this.sessionId;
    this.sessionId = this.newId();
    this.turns.length = 0;
    this.post({ type: 'cleared' });
    // The server may be down; the old history then died with it.
    await this.backend.reset(old).catch(() => undefined);
  }
}
