// The engine for a model server: finds the server's kind, describes its model without waking it,
// polls its own sleep while this window's model is awake (the poll uses only endpoints the server
// exempts, so it never wakes the model nor keeps it awake), shows a request that waits on the
// server's wake as "waking", and turns every failure into one sentence in the status and the log,
// said once as a notification; the next request tries again. Code leaves the machine over plain
// http only to loopback or to a host the user confirmed.
import { Emitter, type Event } from 'vscode-jsonrpc';
import type { ChatTurnParams, GenerationResult, HostStats, InfillParams, PrefillResult, SaveStateResult } from '../types';
import { noFigures, stoppedPrefill } from '../types';
import { needsInsecureConfirmation } from '../../shared/insecureUrl';
import type { Clock } from '../../shared/clock';
import type { EngineKind, EngineServerState } from '../../shared/protocol';
import { ringCharsPerToken } from '../../shared/ringChars';
import type { Settings } from '../../shared/settings';
import {
  NoFimError,
  type Engine,
  type EngineExit,
  type EngineLoadResult,
  type EngineSleep,
  type RemoteView,
  type SleepParams,
} from '../types';
import { ownSleep } from '../ownSleep';
import type { AdapterContext, ExtraChunk, ServerAdapter, ServerDescription } from './adapter';
import { adapters, detectKind } from './detect';
import { HttpClient, RemoteAbortError, RemoteError, type RequestOptions } from './request';

/** How often the server's own sleep is asked while this window's model is awake. */
export const defaultPollMs = 2000;
/** A status poll gives up sooner than a request. */
const pollTimeoutMs = 5000;

/**
 * How long the look at the server's own sleep may take when a request's deadline passed with no
 * answer: short, since a server that answers nothing answers no look either, and the whole
 * request, the look included, ends within its deadline plus this.
 */
export function sleepLookMs(timeoutMs: number): number {
  return Math.min(1000, Math.ceil(timeoutMs / 4));
}

/** What outlives one engine (each sleep ends one): the last view, and the sentences already shown. */
export class RemoteSession {
  view: RemoteView;
  readonly notified = new Set<string>();
  /** Hosts the user declined plain http for in this session: asked once. */
  declined = false;

  constructor(readonly url: string) {
    this.view = { kind: 'llama-server', url, server: null, error: null, canSleep: false };
  }
}

export interface RemoteEngineOptions {
  session: RemoteSession;
  settings(): Settings;
  apiKey(): string | null;
  log(line: string): void;
  onChange(): void;
  /** A failure the user should see once as a notification. */
  notify(sentence: string): void;
  /** Plain http to another machine: the user's yes (asked once per host, remembered by the caller). */
  confirmPlainHttp(host: string): Promise<boolean>;
  pollMs?: number;
  /** The requests' deadlines (a fake clock in tests). */
  clock?: Clock;
}

export class RemoteEngine implements Engine {
  readonly pid = undefined;
  private exitInfo: EngineExit | null = null;
  private readonly exitEmitter = new Emitter<EngineExit>();
  readonly onExit: Event<EngineExit> = this.exitEmitter.event;
  private readonly http: HttpClient;
  private adapter: ServerAdapter | null = null;
  private described: ServerDescription | null = null;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private inFlight = 0;
  /** Whether the shown error came from a status poll (a later good poll clears it) or a request. */
  private errorFromPoll = false;
  /** Whether the server has said whether it sleeps: then an answer means it is awake. */
  private saysSleep = false;

  constructor(private readonly options: RemoteEngineOptions) {
    this.http = new HttpClient({ baseUrl: options.session.url, apiKey: options.apiKey, clock: options.clock });
  }

  get kind(): EngineKind {
    return this.options.session.view.kind;
  }

  get exit(): EngineExit | null {
    return this.exitInfo;
  }

  remote(): RemoteView {
    return { ...this.options.session.view };
  }

  /** Whether the last completion found that the server's model has no FIM tokens. */
  get hasFim(): boolean | null {
    return this.described?.hasFim ?? null;
  }

  async load(_params: unknown, signal?: AbortSignal): Promise<EngineLoadResult> {
    const { session } = this.options;
    const timeoutMs = this.options.settings().remote.timeoutMs;
    try {
      if (needsInsecureConfirmation(session.url)) {
        const host = this.http.label;
        const yes = !session.declined && (await this.options.confirmPlainHttp(host));
        if (!yes) {
          session.declined = true;
          throw new RemoteError(
            'http',
            `Nothing is sent to ${host}: it is plain http to another machine, and you have not confirmed that your code may go there unencrypted. Use https, or reload the window and confirm.`,
          );
        }
      }
      const options: RequestOptions = { signal, timeoutMs };
      const kind = await detectKind(this.http, this.options.settings().remote.kind, options);
      const adapter = adapters[kind];
      const described = await adapter.describe(this.context(), options);
      this.adapter = adapter;
      this.described = described;
      this.saysSleep = described.sleeping !== null;
      session.view = { ...session.view, kind, server: stateOf(described.sleeping, false), error: null, canSleep: this.canSleep() };
      this.errorFromPoll = false;
      this.options.log(
        `Using ${described.name} on ${kind} at ${this.http.label}${described.sleeping === true ? ' (asleep there; the first request wakes it)' : ''}.`,
      );
      this.startPolling();
      return {
        name: described.name,
        sizeBytes: 0,
        backend: null,
        gpuLayers: 0,
        totalLayers: 0,
        contextSize: described.contextSize,
        hasFim: described.hasFim ?? true,
        fallbackReason: null,
      };
    } catch (err) {
      if (err instanceof RemoteAbortError) throw new Error(`Connecting to ${this.http.label} was cancelled.`, { cause: err });
      throw new Error(this.fail(err, false), { cause: err });
    } finally {
      this.options.onChange();
    }
  }

  /** The server's memory is not this machine's to report. */
  rssBytes(): null {
    return null;
  }

  baselineRssBytes(): null {
    return null;
  }

  /** Any load settings: the server has its own. */
  serves(): boolean {
    return true;
  }

  /** Every sleep of this engine is this window's own. */
  sleep(params: SleepParams): Promise<EngineSleep> {
    return ownSleep(this, params);
  }

  sleepFreedRss(): Promise<null> {
    return Promise.resolve(null);
  }

  saveState(): Promise<SaveStateResult> {
    // The server keeps its own cache; nothing of it lives here.
    return Promise.resolve({ saved: [] });
  }

  /** Our sleep: stop polling; when the user said the server is theirs, unload its model too. */
  async unload(): Promise<HostStats> {
    this.stopPolling();
    await this.sleepServer();
    return { rssBytes: 0, vramUsedBytes: null, vramTotalBytes: null, loaded: false };
  }

  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.request(
      (adapter, described, options) => adapter.infill(this.context(), described, params, extraChunks(params), options),
      signal,
      () => ({ text: '', stopReason: 'abort', tokens: 0, figures: noFigures }),
    );
  }

  /**
   * Nothing to do ahead: llama-server's prompt cache keeps the ring's tokens from the last /infill,
   * and a request here could wake a server that sleeps.
   */
  async prefill(): Promise<PrefillResult> {
    return { promptTokens: 0, evaluatedTokens: 0, stopped: false };
  }

  /**
   * A draft's prompt read into the server's prompt cache, where the server keeps one and its chat
   * model is known to be awake (a request would wake a sleeping one). null: nothing was read
   * ahead. A failure here is only logged: the turn itself will say what is wrong.
   */
  async chatPrefill(params: ChatTurnParams, signal?: AbortSignal): Promise<PrefillResult | null> {
    const { adapter, described } = this;
    if (!adapter?.chatPrefill || !described || this.exitInfo) return null;
    const server = this.options.session.view.server;
    if (server === null ? this.saysSleep : server !== 'awake') return null;
    // The server's state is the completion model's; a chat model of its own may be unloaded.
    const { chatModel } = this.options.settings().remote;
    if (chatModel && chatModel !== described.model) return null;
    try {
      return await adapter.chatPrefill(this.context(), described, params, { signal, timeoutMs: this.options.settings().remote.timeoutMs });
    } catch (err) {
      if (err instanceof RemoteAbortError || signal?.aborted) return stoppedPrefill;
      this.options.log(`The chat draft was not read ahead: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }

  chat(params: ChatTurnParams, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    let streamed = '';
    return this.request(
      (adapter, described, options) =>
        adapter.chat(
          this.context(),
          described,
          params,
          (text) => {
            streamed += text;
            onChunk(text);
          },
          options,
        ),
      signal,
      () => ({ text: streamed, stopReason: 'abort', tokens: 0, figures: noFigures }),
    );
  }

  stats(): Promise<HostStats> {
    return Promise.resolve({ rssBytes: 0, vramUsedBytes: null, vramTotalBytes: null, loaded: this.described !== null });
  }

  async shutdown(): Promise<EngineExit> {
    if (this.exitInfo) return this.exitInfo;
    this.stopPolling();
    await this.sleepServer();
    return this.end();
  }

  /** A server is nobody else's concern here: letting go is ending. */
  detach(): Promise<EngineExit> {
    return this.kill();
  }

  kill(): Promise<EngineExit> {
    this.stopPolling();
    return Promise.resolve(this.exitInfo ?? this.end());
  }

  private end(): EngineExit {
    this.exitInfo = { code: null, signal: null, expected: true, hung: false, message: `This window stopped using ${this.http.label}.` };
    this.described = null;
    this.exitEmitter.fire(this.exitInfo);
    this.exitEmitter.dispose();
    return this.exitInfo;
  }

  private canSleep(): boolean {
    return this.options.settings().remote.controlSleep && this.described?.canUnload === true;
  }

  private async sleepServer(): Promise<void> {
    const { adapter, described } = this;
    if (!adapter || !described || !this.canSleep()) return;
    try {
      await adapter.unload(this.context(), described, { timeoutMs: this.options.settings().remote.timeoutMs });
      this.setServer('sleeping');
      this.options.log(`Unloaded ${described.name} on ${this.http.label}.`);
    } catch (err) {
      // Our sleep goes on: the server keeps its model until it sleeps on its own.
      this.options.log(`${described.name} was not unloaded on the server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private context(): AdapterContext {
    const settings = this.options.settings();
    const { model, chatModel } = settings.remote;
    return { http: this.http, model, chatModel, keepAliveSeconds: settings.sleepIdleSeconds };
  }

  /**
   * Runs one request. A server that said it was asleep gets the wake deadline; one that misses
   * the normal deadline before answering is asked whether it is waking, and then gets it too.
   */
  private async request(
    run: (adapter: ServerAdapter, described: ServerDescription, options: RequestOptions) => Promise<GenerationResult>,
    signal: AbortSignal | undefined,
    aborted: () => GenerationResult,
  ): Promise<GenerationResult> {
    const { adapter, described } = this;
    if (!adapter || !described || this.exitInfo) throw new Error('The model is not loaded.');
    const remote = this.options.settings().remote;
    const asleep = this.options.session.view.server === 'sleeping';
    this.inFlight++;
    try {
      if (asleep) this.setServer('waking');
      const options: RequestOptions = {
        signal,
        timeoutMs: asleep ? remote.wakeTimeoutMs : remote.timeoutMs,
        onSlow: async () => {
          const sleeping = await adapter
            .sleeping(this.context(), described, { timeoutMs: sleepLookMs(remote.timeoutMs) })
            .catch(() => null);
          if (sleeping !== true) return null;
          this.setServer('waking');
          return remote.wakeTimeoutMs;
        },
      };
      if (asleep && adapter.wake) await adapter.wake(this.context(), described, options);
      const result = await run(adapter, described, options);
      this.succeeded();
      return result;
    } catch (err) {
      if (err instanceof RemoteAbortError || signal?.aborted) {
        if (this.options.session.view.server === 'waking') this.setServer(asleep ? 'sleeping' : 'awake');
        return aborted();
      }
      if (err instanceof RemoteError && err.failure === 'no-fim') {
        described.hasFim = false;
        throw new NoFimError(this.fail(err, false), { cause: err });
      }
      throw new Error(this.fail(err, false), { cause: err });
    } finally {
      this.inFlight--;
    }
  }

  private succeeded(): void {
    const view = this.options.session.view;
    // A server that says whether it sleeps and just answered is awake; one that does not say stays unknown.
    const awake = view.server !== null || this.saysSleep;
    const changed = awake && view.server !== 'awake';
    if (awake) view.server = 'awake';
    if (view.error !== null || changed) {
      view.error = null;
      this.options.session.notified.clear();
      this.options.onChange();
    }
  }

  /** Records the failure's sentence (status, log, one notification) and returns it. */
  private fail(err: unknown, fromPoll: boolean): string {
    const sentence = err instanceof Error ? err.message : String(err);
    const { session } = this.options;
    const failure = err instanceof RemoteError ? err.failure : null;
    session.view = {
      ...session.view,
      error: sentence,
      // A server that cannot be asked has no known state.
      server: failure === 'refused' || failure === 'unreachable' || failure === 'timeout' ? null : session.view.server,
    };
    this.errorFromPoll = fromPoll;
    this.options.log(sentence);
    if (!session.notified.has(sentence)) {
      session.notified.add(sentence);
      this.options.notify(sentence);
    }
    this.options.onChange();
    return sentence;
  }

  private setServer(state: EngineServerState | null): void {
    const view = this.options.session.view;
    if (view.server === state) return;
    view.server = state;
    this.options.onChange();
  }

  private startPolling(): void {
    this.stopPolling();
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? defaultPollMs).unref();
  }

  private stopPolling(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  private async poll(): Promise<void> {
    const { adapter, described } = this;
    if (!adapter || !described || this.polling) return;
    this.polling = true;
    try {
      const sleeping = await adapter.sleeping(this.context(), described, {
        timeoutMs: Math.min(pollTimeoutMs, this.options.settings().remote.timeoutMs),
      });
      if (this.poller === null) return;
      if (sleeping !== null) this.saysSleep = true;
      if (this.errorFromPoll && this.options.session.view.error !== null) {
        this.options.session.view.error = null;
        this.options.session.notified.clear();
      }
      this.setServer(stateOf(sleeping, this.inFlight > 0));
      this.options.onChange();
    } catch (err) {
      if (this.poller !== null && this.inFlight === 0) this.fail(err, true);
    } finally {
      this.polling = false;
    }
  }
}

function stateOf(sleeping: boolean | null, busy: boolean): EngineServerState | null {
  if (sleeping === null) return null;
  if (!sleeping) return 'awake';
  return busy ? 'waking' : 'sleeping';
}

/**
 * The context ring as llama-server's `input_extra`: the newest chunks that fit the ring's budget,
 * oldest first, so the server's prompt cache keeps the older ones' tokens when one is added.
 */
export function extraChunks(params: InfillParams): ExtraChunk[] {
  const context = params.context;
  if (!context) return [];
  // The server tokenizes: the budget is estimated in characters, as the ring itself does.
  let room = context.budgetTokens * ringCharsPerToken;
  const kept: ExtraChunk[] = [];
  for (let i = context.chunks.length - 1; i >= 0; i--) {
    const chunk = context.chunks[i];
    if (chunk.text.length > room) break;
    room -= chunk.text.length;
    kept.push({ filename: chunk.path === '' ? 'clipboard' : chunk.path, text: chunk.text });
  }
  return kept.reverse();
}
