// The one way out for context chunks: collectors offer them, the feed batches them, sends each
// new or changed chunk once per server, and nothing at all while context is off. Pure (no
// `vscode`): the sender, the settings and the privacy check come in.
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { systemClock, type Clock } from '../../../server/src/shared/clock';

export interface FeedDeps {
  /** Sends one notification; false when no server took it (not running). */
  send(chunks: ContextChunk[]): Promise<boolean>;
  /** `localLlm.context.enabled`, read when it matters. */
  enabled(): boolean;
  /** The privacy check, asked again at send time (the settings may have changed since). */
  allowed(chunk: ContextChunk): boolean;
  clock?: Clock;
  /** Offers within this time go out as one notification. */
  batchMs?: number;
}

/** Chunks kept to give a restarted server; its ring holds fewer. */
export const historySize = 32;

function keyOf(c: ContextChunk): string {
  return `${c.uri}\u0000${c.path}\u0000${c.startLine}\u0000${c.text}`;
}

export class ContextFeed {
  /** Accepted chunks by key, oldest first (a Map keeps insertion order). */
  private readonly history = new Map<string, ContextChunk>();
  /** Keys the running server has received. */
  private readonly sent = new Set<string>();
  private pending: string[] = [];
  private timer: unknown = null;
  private sending: Promise<void> = Promise.resolve();
  private disposed = false;
  private readonly clock: Clock;
  private readonly batchMs: number;

  constructor(private readonly deps: FeedDeps) {
    this.clock = deps.clock ?? systemClock;
    this.batchMs = deps.batchMs ?? 250;
  }

  /** A chunk from a collector; dropped when context is off, excluded, or already sent unchanged. */
  offer(chunk: ContextChunk): void {
    if (this.disposed || !this.deps.enabled() || !this.deps.allowed(chunk)) return;
    const key = keyOf(chunk);
    if (this.sent.has(key) || this.pending.includes(key)) return;
    this.history.delete(key);
    this.history.set(key, chunk);
    while (this.history.size > historySize) {
      const oldest = this.history.keys().next().value as string;
      this.history.delete(oldest);
      this.sent.delete(oldest);
    }
    this.pending.push(key);
    this.schedule();
  }

  /** A new server knows nothing: give it what is still current, oldest first. */
  serverStarted(): void {
    this.sent.clear();
    this.pending = [...this.history.keys()];
    this.schedule();
  }

  /** Context turned off, or the exclude lists changed: forget what they no longer allow. */
  settingsChanged(): void {
    if (!this.deps.enabled()) {
      this.history.clear();
      this.sent.clear();
      this.pending = [];
      return;
    }
    for (const [key, chunk] of this.history) {
      if (!this.deps.allowed(chunk)) {
        this.history.delete(key);
        this.sent.delete(key);
      }
    }
    this.pending = this.pending.filter((k) => this.history.has(k));
  }

  /** Resolves once every chunk offered so far has been handed to the sender. */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
      this.sending = this.sending.then(() => this.sendPending());
    }
    await this.sending;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }

  private schedule(): void {
    if (this.timer !== null || this.pending.length === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.sending = this.sending.then(() => this.sendPending());
    }, this.batchMs);
  }

  private async sendPending(): Promise<void> {
    const keys = this.pending;
    this.pending = [];
    if (this.disposed || !this.deps.enabled()) return;
    const chunks: ContextChunk[] = [];
    const sentKeys: string[] = [];
    for (const key of keys) {
      const chunk = this.history.get(key);
      if (!chunk || this.sent.has(key) || !this.deps.allowed(chunk)) continue;
      chunks.push(chunk);
      sentKeys.push(key);
    }
    if (chunks.length === 0) return;
    let ok: boolean;
    try {
      ok = await this.deps.send(chunks);
    } catch {
      ok = false;
    }
    // Unsent chunks stay in the history; the next server gets them when it starts.
    if (ok) for (const key of sentKeys) if (this.history.has(key)) this.sent.add(key);
  }
}
