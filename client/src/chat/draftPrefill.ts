// The question the user is writing, read ahead by the model (localLlm/chatPrefill): once they
// pause, the draft goes to the server as the turn it would be, and the server evaluates its
// prompt, so that Send evaluates only what changed since. One at a time: a newer draft, the send,
// New chat or a reopened chat cancels the one running. A draft the server skipped because the
// model was not awake is sent again when it is. No `vscode` import.
import type { Clock } from '../../../server/src/shared/clock';
import type { ChatPrefillResult } from '../../../server/src/shared/protocol';
import type { MentionRef } from '../../../media/messages';
import type { ChatTurnRequest } from './session';

/** No key for this long: the user paused, and the draft is read. */
export const draftQuietMs = 400;

export interface Draft {
  text: string;
  mentions: MentionRef[];
}

export interface DraftPrefillDeps {
  clock: Clock;
  /** The turn the draft would send; null when it would send nothing (empty, a refused mention, an answer being written). */
  request(draft: Draft): Promise<ChatTurnRequest | null>;
  prefill(request: ChatTurnRequest, signal: AbortSignal): Promise<ChatPrefillResult>;
  /** localLlm.chat.prefill. */
  enabled(): boolean;
  log(line: string): void;
  /** Each draft read: what the server did with it; null when there was nothing to send (empty, unsendable, or the setting off). */
  onRead?(result: ChatPrefillResult | null): void;
}

export class DraftPrefill {
  private draft: Draft | null = null;
  private timer: unknown = null;
  private running: AbortController | null = null;
  /** The last draft read was skipped because the model was not awake. */
  private waitingForModel = false;

  constructor(private readonly deps: DraftPrefillDeps) {}

  /** The input or its mentions changed. */
  changed(draft: Draft): void {
    this.cancel();
    if (!this.deps.enabled() || (draft.text.trim() === '' && draft.mentions.length === 0)) return this.deps.onRead?.(null);
    this.draft = draft;
    this.timer = this.deps.clock.setTimeout(() => void this.read(), draftQuietMs);
  }

  /** The model is ready: a draft skipped while it was not is read now. */
  modelReady(): void {
    if (!this.waitingForModel || !this.draft || this.running || this.timer !== null) return;
    void this.read();
  }

  /** Sent, cleared or replaced: nothing of it is read any more. */
  cancel(): void {
    this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    this.running?.abort();
    this.running = null;
    this.draft = null;
    this.waitingForModel = false;
  }

  dispose(): void {
    this.cancel();
  }

  private async read(): Promise<void> {
    this.timer = null;
    const draft = this.draft;
    if (!draft) return;
    const controller = new AbortController();
    this.running = controller;
    this.waitingForModel = false;
    try {
      const request = await this.deps.request(draft);
      if (controller.signal.aborted) return;
      if (!request) return this.deps.onRead?.(null);
      const result = await this.deps.prefill(request, controller.signal);
      if (controller.signal.aborted) return;
      this.deps.onRead?.(result);
      if (result.skipped) {
        this.waitingForModel = result.retryWhenReady === true;
        this.deps.log(`Chat draft not read ahead: ${result.skipped}`);
      } else {
        this.deps.log(
          `Chat draft read ahead: ${result.evaluatedTokens} of ${result.promptTokens} prompt tokens evaluated${result.stopped ? ' (stopped)' : ''}.`,
        );
      }
    } catch (err) {
      if (!controller.signal.aborted) this.deps.log(`Chat draft not read ahead: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (this.running === controller) this.running = null;
    }
  }
}
