// The language server's handle on the model host shared by every window with the same model,
// reached through its socket (attachHost.ts): typed requests, cancellation by AbortSignal, and a
// death that is always reported as one human sentence. Pending requests reject with that sentence
// when the host dies, so nothing waits forever. Every request has a
// deadline; a host that misses one is hung (stopped, or stuck in native code) and is killed, and
// a cancelled generation is answered at once even when the host cannot answer.
// Must not import node-llama-cpp: the server stays pure TypeScript.
import { existsSync } from 'node:fs';
import {
  CancellationTokenSource,
  createMessageConnection,
  Emitter,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  type Event,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  activityNotification,
  chatChunkNotification,
  chatRequest,
  configureNotification,
  helloRequest,
  logNotification,
  stateNotification,
  type HelloParams,
  type SharedHostState,
  infillRequest,
  prefillRequest,
  chatPrefillRequest,
  loadRequest,
  pingRequest,
  saveStateRequest,
  shutdownRequest,
  statsRequest,
  unloadRequest,
} from '../../host/protocol';
import {
  noFigures,
  stoppedPrefill,
  type GenerationResult,
  type HostStats,
  type InfillParams,
  type PrefillParams,
  type PrefillResult,
  type LoadParams,
  type SaveStateParams,
  type SaveStateResult,
  type LoadResult,
  type ChatTurnParams,
} from '../types';
import type { EngineExit } from '../types';
import { defaultHostDeadlines, type HostDeadlines } from '../hostDeadlines';
import { delay } from '../../shared/cancellation';
import { formatTimeSpan } from '../../shared/format';
import { shortenPaths } from '../../shared/text';
import { attachSharedHost, HostStartHungError, logTail, removeKilledHostFiles, waitForExitingHost, type Attached } from './attachHost';
import { readProcessRss } from '../../shared/memory';
import { RendezvousError, type HostIdentity, type RendezvousPaths } from '../../shared/rendezvous';

/** How the host ended, or this handle let go of it. */
export type HostExit = EngineExit;

export interface HostProcessOptions {
  /** The bundled host entry, dist/host.js. */
  hostPath: string;
  /** Each line the host logs to this window, and what the attach has to say. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Defaults: defaultHostDeadlines. */
  deadlines?: Partial<HostDeadlines>;
  /** The model and its load settings: every server of this user with the same identity shares one host (started detached when none runs). */
  identity: HostIdentity;
  /** What this window tells the host at each hello: its idle time, sleep mode and state cap. */
  hello: Omit<HelloParams, 'clientPid'>;
}

/** A request as the deadline sentence names it: "did not answer <what> within …". */
type RequestWhat =
  | 'a status request'
  | 'a check that it still runs'
  | 'the model load'
  | 'the request to free the model'
  | 'the request to save the model state'
  | 'a completion'
  | 'a prefill'
  | 'a chat prefill'
  | 'a chat answer';

const recentLineCount = 20;
/** Connections to a shared host that closed before its hello, before the attach gives up. */
const attachAttempts = 3;
/** How long an attach waits for a shared host that closed its connection (it is exiting) to let go of the rendezvous. */
const exitingHostWaitMs = 10_000;
const looksLikeError = /error|assert|abort|fail|fatal|exception/i;

/** The sentence for a host that ended; `detail` is its last error-looking output line. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null, expected: boolean, detail: string | null): string {
  const tail = detail ? `: ${shortenPaths(detail).replace(/[.\s]+$/, '')}` : '';
  if (expected) return 'The model host stopped.';
  switch (signal) {
    case 'SIGABRT':
      return detail
        ? `llama.cpp aborted the model host${tail}.`
        : 'llama.cpp aborted the model host (often a GPU fault or a model file it cannot handle).';
    case 'SIGKILL':
      return 'The model host was killed, most often because the system ran out of memory.';
    case 'SIGSEGV':
    case 'SIGBUS':
      return `The model host crashed in native code (${signal})${tail}.`;
    case 'SIGILL':
      return 'The model host crashed because this CPU lacks an instruction that the llama.cpp binary needs.';
    case null:
      break;
    default:
      return `The model host was stopped by ${signal}.`;
  }
  if (code !== null && code !== 0) return `The model host exited with code ${code}${tail}.`;
  return 'The model host exited unexpectedly.';
}

export class HostProcess {
  /** The connection once the host is reached (after the attach). */
  private readonly linked: Promise<MessageConnection>;
  private connection: MessageConnection | null = null;
  private readonly exitEmitter = new Emitter<HostExit>();
  private readonly stateEmitter = new Emitter<SharedHostState>();
  private readonly recentLines: string[] = [];
  private readonly chatStreams = new Map<number, (text: string) => void>();
  private nextStreamId = 1;
  private expectExit = false;
  /** Set when the host missed a deadline and was killed for it: the sentence of its exit. */
  private hangMessage: string | null = null;
  private exitInfo: HostExit | null = null;
  private readonly deadlines: HostDeadlines;
  /** Loads, generations and unloads waiting for the host's answer; the heartbeat runs while there are any. */
  private watched = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;
  /** Whether the host has answered anything yet (before that, it may still be importing). */
  private answeredOnce = false;
  /** Rejects with the exit sentence; raced against every request. */
  private readonly death: Promise<never>;
  private rejectDeath: (err: Error) => void = () => undefined;
  private readonly exited: Promise<HostExit>;
  private resolveExited: (exit: HostExit) => void = () => undefined;
  /** The host's last announced state; null before the hello. */
  private shared: SharedHostState | null = null;
  /** The host's socket, once attached. */
  private socket: Attached['socket'] | null = null;
  /** Sent again at every hello (a reattach after a failed try) and changed by configure. */
  private hello: Omit<HelloParams, 'clientPid'>;
  /** The shared host's rendezvous files, once attached. */
  private rendezvous: RendezvousPaths | null = null;
  /** Aborted when this handle ends: an attach still under way stops, and ends a host it started that does not listen yet. */
  private readonly attaching = new AbortController();

  /** Fires once when the host ends (or this handle lets go of it), for whatever reason. */
  readonly onExit: Event<HostExit> = this.exitEmitter.event;
  /** The host's state, on every change. */
  readonly onSharedState: Event<SharedHostState> = this.stateEmitter.event;

  constructor(private readonly options: HostProcessOptions) {
    this.deadlines = { ...defaultHostDeadlines, ...options.deadlines };
    if (!existsSync(options.hostPath)) {
      throw new Error(`The model host ${options.hostPath} does not exist; the extension is not built.`);
    }
    this.death = new Promise<never>((_, reject) => (this.rejectDeath = reject));
    this.death.catch(() => undefined);
    this.exited = new Promise<HostExit>((resolve) => (this.resolveExited = resolve));
    this.hello = options.hello;
    this.linked = this.attach();
    this.linked.catch(() => undefined);
  }

  /** The host's last announced state; null before the hello. */
  get sharedState(): SharedHostState | null {
    return this.shared;
  }

  /** The host learns this window's idle time, sleep mode and state cap. */
  configureShared(params: Omit<HelloParams, 'clientPid'>): void {
    this.hello = params;
    void this.connection?.sendNotification(configureNotification, params).catch(() => undefined);
  }

  /** Editor activity in this window, for the host's idle time (the caller throttles). */
  activity(): void {
    if (this.shared) void this.connection?.sendNotification(activityNotification).catch(() => undefined);
  }

  /**
   * This server is done with the host: it is left to the other windows (it ends by itself a
   * grace period after the last one leaves).
   */
  async detach(): Promise<HostExit> {
    if (this.exitInfo) return this.exitInfo;
    this.expectExit = true;
    this.connection?.dispose();
    this.socket?.destroy();
    // An attach still under way ends here too.
    this.ended(null, null);
    return this.exited;
  }

  private async attach(): Promise<MessageConnection> {
    // A host that is exiting (its grace period ran out, a deep sleep, a kill still being torn
    // down) may take a connection and close it before it answers the hello: attach again.
    for (let attempt = 1; ; attempt++) {
      const reached = await this.attachOnce();
      if (reached !== null) return reached;
      if (attempt >= attachAttempts) {
        const message = 'The model host closed every connection before it answered; the next request tries again.';
        this.ended(null, null, message);
        throw new Error(message);
      }
      // It is on its way out: once it has let go, the next try starts a new host.
      await Promise.all([
        delay(100 * attempt),
        waitForExitingHost(this.options.identity, this.options.env ?? process.env, exitingHostWaitMs),
      ]);
    }
  }

  /** Null when the host closed the connection before its hello. */
  private async attachOnce(): Promise<MessageConnection | null> {
    let attached: Attached;
    try {
      attached = await attachSharedHost({
        hostPath: this.options.hostPath,
        identity: this.options.identity,
        env: this.options.env ?? process.env,
        deadlineMs: this.deadlines.startMs,
        // A host that hangs before its hello is caught within the bound of one that hangs after it (#24).
        listenMs: this.deadlines.statsMs,
        signal: this.attaching.signal,
        log: (line) => this.onLine(line),
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.onLine(message);
      if (err instanceof HostStartHungError && !this.exitInfo) this.hangMessage = message;
      // No host was started, so none crashed: the load fails with the sentence, without a restart (#24).
      if (err instanceof RendezvousError) this.expectExit = true;
      this.ended(null, null, message);
      throw err;
    }
    const { socket, paths } = attached;
    // The host this server started is our child only if it is the one that answered (it may
    // have lost the race to another server's).
    let child = attached.child;
    if (this.exitInfo) {
      socket.destroy();
      throw new Error(this.exitInfo.message);
    }
    socket.on('error', () => undefined);
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    connection.onError(() => undefined);
    connection.listen();
    const closed = new Promise<null>((resolve) => socket.once('close', () => resolve(null)));
    let state: SharedHostState | null | 'overdue';
    let helloTimer: NodeJS.Timeout | undefined;
    // A host that listens but never answers (stopped just after its listen) is hung like one that stops later (#24).
    const overdue = new Promise<'overdue'>((resolve) => (helloTimer = setTimeout(() => resolve('overdue'), this.deadlines.statsMs)));
    try {
      state = await Promise.race([connection.sendRequest(helloRequest, { clientPid: process.pid, ...this.hello }), closed, overdue]);
    } catch {
      state = null;
    } finally {
      clearTimeout(helloTimer);
    }
    if (state === 'overdue') {
      connection.dispose();
      socket.destroy();
      throw new Error(this.helloHung(child, paths));
    }
    // Read through the getter: a detach may have ended this handle while the hello was out.
    const gone = this.exit;
    if (state === null || socket.destroyed || gone) {
      connection.dispose();
      socket.destroy();
      if (gone) throw new Error(gone.message);
      return null;
    }
    if (child && child.pid !== state.hostPid) child = null;
    this.socket = socket;
    this.rendezvous = paths;
    connection.onNotification(stateNotification, (next) => this.sharedStateChanged(next));
    connection.onNotification(logNotification, (line) => this.onLine(line));
    socket.once('close', () => {
      // A host we started is our child: its exit says how it ended, a moment after the socket closed.
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (!this.exitInfo) {
          for (const line of logTail(paths.log).slice(-5)) this.rememberLine(line);
        }
        this.ended(code, signal);
      };
      if (child && child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => finish(null, null), 500);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          finish(code, signal);
        });
      } else {
        finish(child?.exitCode ?? null, child?.signalCode ?? null);
      }
    });
    this.useConnection(connection);
    this.sharedStateChanged(state);
    return connection;
  }

  /** The host did not answer the hello in time: the one this server started is killed by its own pid. Returns the sentence. */
  private helloHung(child: Attached['child'], paths: RendezvousPaths): string {
    if (this.exitInfo) return this.exitInfo.message;
    const ours = child !== null && child.exitCode === null && child.signalCode === null;
    const within = formatTimeSpan(this.deadlines.statsMs);
    this.hangMessage = ours
      ? `The model host did not answer the attach within ${within}, so it was stopped; the next request starts a new one.`
      : `The model host did not answer the attach within ${within}; the next request tries again.`;
    this.onLine(this.hangMessage);
    if (ours) {
      child.kill('SIGKILL');
      if (child.pid !== undefined) void removeKilledHostFiles(paths, child.pid);
    }
    this.ended(null, ours ? 'SIGKILL' : null);
    return this.hangMessage;
  }

  private sharedStateChanged(state: SharedHostState): void {
    this.shared = state;
    if (!this.exitInfo) this.stateEmitter.fire(state);
  }

  private useConnection(connection: MessageConnection): void {
    this.connection = connection;
    connection.onNotification(chatChunkNotification, ({ streamId, text }) => this.chatStreams.get(streamId)?.(text));
    // Writes to a channel that just closed fail; the exit event carries the real story.
    connection.onError(() => undefined);
  }

  /** The host is gone (or this handle let go of it): reject what waits and tell once. */
  private ended(code: number | null, signal: NodeJS.Signals | null, failure?: string): void {
    if (this.exitInfo) return;
    const detail = [...this.recentLines].reverse().find((l) => looksLikeError.test(l)) ?? null;
    // A host that announced its deep sleep ends as asked.
    const announced = this.shared?.state === 'sleeping' && this.shared.deep;
    const expected = this.expectExit || (announced && failure === undefined);
    const hung = this.hangMessage !== null && !this.expectExit;
    let message = hung && this.hangMessage !== null ? this.hangMessage : describeExit(code, signal, expected, detail);
    if (failure !== undefined) message = failure;
    else if (!expected && !hung && code === null && signal === null) {
      message = 'The model host crashed or was killed (it closed its connection).';
    }
    const exit: HostExit = { code, signal, expected, hung, message };
    this.exitInfo = exit;
    this.attaching.abort();
    this.watch(0);
    this.rejectDeath(new Error(exit.message));
    this.connection?.dispose();
    this.socket?.destroy();
    this.chatStreams.clear();
    this.resolveExited(exit);
    this.exitEmitter.fire(exit);
    this.exitEmitter.dispose();
    this.stateEmitter.dispose();
  }

  get pid(): number | undefined {
    return this.shared?.hostPid;
  }

  /** Null while the host can be used. */
  get exit(): HostExit | null {
    return this.exitInfo;
  }

  /** RSS from /proc, answered even while the host is busy in native code. */
  rssBytes(): number | null {
    const pid = this.pid;
    return this.exitInfo || pid === undefined ? null : readProcessRss(pid);
  }

  /**
   * Loads the model. Aborting `signal` cancels the load in the host; the promise then rejects
   * once the host confirms, or after the cancel grace when it does not answer.
   */
  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    return this.request(
      'the model load',
      this.deadlines.loadMs,
      (connection, token) => connection.sendRequest(loadRequest, params, token),
      {
        signal,
        cancelled: () => {
          throw new Error(`Loading ${params.modelPath} was cancelled.`);
        },
        watch: true,
      },
    );
  }

  /** Before a sleep: the host saves its sequences' state (bounded like an unload). */
  saveState(params: SaveStateParams): Promise<SaveStateResult> {
    return this.request(
      'the request to save the model state',
      this.deadlines.unloadMs,
      (connection, token) => connection.sendRequest(saveStateRequest, params, token),
      {
        watch: true,
      },
    );
  }

  /** Light sleep: frees model and context, keeps the process. */
  unload(): Promise<HostStats> {
    return this.request(
      'the request to free the model',
      this.deadlines.unloadMs,
      (connection, token) => connection.sendRequest(unloadRequest, token),
      {
        watch: true,
      },
    );
  }

  /** A cancelled infill answers stopReason abort at once, whether or not the host does. */
  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.request<GenerationResult>(
      'a completion',
      this.generationDeadline(params.maxTokens),
      (connection, token) => connection.sendRequest(infillRequest, params, token),
      {
        signal,
        cancelled: () => ({ text: '', stopReason: 'abort', tokens: 0, figures: noFigures }),
        watch: true,
      },
    );
  }

  /** Evaluates an infill's prompt, generating nothing; a cancelled one answers `stopped` at once, whether or not the host does. */
  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.evaluateAhead(
      'a prefill',
      params.maxTokens,
      (connection, token) => connection.sendRequest(prefillRequest, params, token),
      signal,
    );
  }

  /** Evaluates a chat answer's prompt (a draft's), generating nothing; cancelled as a prefill is. */
  chatPrefill(params: ChatTurnParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.evaluateAhead(
      'a chat prefill',
      params.maxTokens,
      (connection, token) => connection.sendRequest(chatPrefillRequest, params, token),
      signal,
    );
  }

  private evaluateAhead(
    what: 'a prefill' | 'a chat prefill',
    maxTokens: number,
    send: (connection: MessageConnection, token: CancellationToken) => Promise<PrefillResult>,
    signal: AbortSignal | undefined,
  ): Promise<PrefillResult> {
    return this.request<PrefillResult>(what, this.generationDeadline(maxTokens), send, {
      signal,
      cancelled: () => stoppedPrefill,
      watch: true,
    });
  }

  /** A cancelled chat answers stopReason abort with the text streamed so far, whether or not the host does. */
  async chat(params: ChatTurnParams, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const streamId = this.nextStreamId++;
    let streamed = '';
    this.chatStreams.set(streamId, (text) => {
      streamed += text;
      onChunk(text);
    });
    try {
      return await this.request<GenerationResult>(
        'a chat answer',
        this.generationDeadline(params.maxTokens),
        (connection, token) => connection.sendRequest(chatRequest, { ...params, streamId }, token),
        // The host's count is unknown when it does not answer.
        { signal, cancelled: () => ({ text: streamed, stopReason: 'abort', tokens: 0, figures: noFigures }), watch: true },
      );
    } finally {
      this.chatStreams.delete(streamId);
    }
  }

  stats(): Promise<HostStats> {
    const deadline = this.answeredOnce ? this.deadlines.statsMs : Math.max(this.deadlines.startMs, this.deadlines.statsMs);
    // A new host's first answer waits for node-llama-cpp's import; the heartbeat finds one that hangs meanwhile (#24).
    return this.request('a status request', deadline, (connection, token) => connection.sendRequest(statsRequest, token), {
      watch: !this.answeredOnce,
    });
  }

  /**
   * Asks the host to dispose and exit; SIGTERM after most of `timeoutMs`, SIGKILL at the bound.
   * Resolves once the process is gone.
   */
  async shutdown(timeoutMs = 3000): Promise<HostExit> {
    if (this.exitInfo) return this.exitInfo;
    this.expectExit = true;
    this.linked.then((connection) => connection.sendRequest(shutdownRequest)).catch(() => undefined);
    if (await this.exitWithin(Math.round(timeoutMs * 0.7))) return this.exited;
    this.signal('SIGTERM');
    if (await this.exitWithin(Math.round(timeoutMs * 0.3))) return this.exited;
    this.killNow();
    return this.exited;
  }

  /**
   * Ends the host at once (SIGKILL), as an expected exit. A shared host that other windows use is
   * only left: what it holds is theirs.
   */
  kill(): Promise<HostExit> {
    if (!this.exitInfo) {
      this.expectExit = true;
      if ((this.shared?.clients ?? 1) > 1) return this.detach();
      this.killNow();
    }
    return this.exited;
  }

  private async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private generationDeadline(maxTokens: number): number {
    return this.deadlines.generationMs + Math.max(0, maxTokens) * this.deadlines.perTokenMs;
  }

  /**
   * Sends one request with its deadline. The host must answer within `deadlineMs` whatever the
   * caller does, or it is killed as hung. When `signal` aborts, the host is told to cancel, and
   * if it has not answered within the cancel grace, `cancelled` answers in its place (its
   * return value resolves, what it throws rejects); the deadline still watches the host.
   */
  private async request<R>(
    what: RequestWhat,
    deadlineMs: number,
    send: (connection: MessageConnection, token: CancellationToken) => Promise<R>,
    options: { signal?: AbortSignal; cancelled?: () => R; watch?: boolean } = {},
  ): Promise<R> {
    if (this.exitInfo) throw new Error(this.exitInfo.message);
    const source = new CancellationTokenSource();
    // A channel that just closed throws at once; the exit event carries the real story.
    const reply: Promise<R> = this.linked.then((connection) => send(connection, source.token));
    // Unref'd: a pending deadline must not keep the server alive. After an exit it does nothing.
    const watchdog = setTimeout(() => this.hung(what, deadlineMs), deadlineMs).unref();
    if (options.watch) this.watch(1);
    const answered = (): void => {
      if (!this.exitInfo) this.answeredOnce = true;
      clearTimeout(watchdog);
      source.dispose();
      if (options.watch) this.watch(-1);
    };
    reply.then(answered, answered);
    const { signal, cancelled } = options;
    let onAbort = (): void => undefined;
    let grace: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<R>((resolve, reject) => {
      onAbort = () => {
        source.cancel();
        if (!cancelled) return;
        grace = setTimeout(() => {
          try {
            resolve(cancelled());
          } catch (err) {
            reject(err);
          }
        }, this.deadlines.cancelGraceMs);
      };
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([reply, this.death, gaveUp]);
    } catch (err) {
      // The host may have died while this request waited (the check above ran before).
      const exit = this.exit;
      if (exit) throw new Error(exit.message, { cause: err });
      if (err instanceof ResponseError) throw new Error(err.message, { cause: err });
      throw err;
    } finally {
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Counts watched requests; the heartbeat runs while any is pending and the host lives. */
  private watch(delta: number): void {
    this.watched += delta;
    if (this.watched > 0 && this.heartbeat === null && !this.exitInfo) {
      this.heartbeat = setInterval(() => this.beat(), this.deadlines.heartbeatMs).unref();
    } else if ((this.watched <= 0 || this.exitInfo) && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private beat(): void {
    if (this.exitInfo) {
      this.watch(0);
      return;
    }
    // Before its hello a shared host is watched by the attach's own bounds (attach.ts, helloHung).
    if (this.heartbeatInFlight || this.connection === null) return;
    this.heartbeatInFlight = true;
    this.request('a check that it still runs', this.deadlines.statsMs, (connection, token) => connection.sendRequest(pingRequest, token))
      .catch(() => undefined)
      .finally(() => (this.heartbeatInFlight = false));
  }

  /** The host missed a deadline: it is stopped or stuck, and nothing it holds can be trusted. */
  private hung(what: RequestWhat, deadlineMs: number): void {
    if (this.exitInfo || this.expectExit || this.hangMessage !== null) return;
    this.hangMessage = `The model host did not answer ${what} within ${formatTimeSpan(deadlineMs)}, so it was stopped; the next request starts a new one.`;
    this.onLine(this.hangMessage);
    // SIGKILL ends a stopped process too.
    this.killNow();
  }

  /**
   * SIGKILL. The host's end shows, for us, only as its connection closing; what it cannot remove
   * itself (socket, lock, description) is removed once it is gone (#24).
   */
  private killNow(): void {
    const pid = this.pid;
    this.signal('SIGKILL');
    if (this.rendezvous !== null && pid !== undefined) void removeKilledHostFiles(this.rendezvous, pid);
    this.ended(null, 'SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }

  private onLine(line: string): void {
    this.rememberLine(line);
    this.options.log?.(line);
  }

  private rememberLine(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > recentLineCount) this.recentLines.shift();
  }
}
