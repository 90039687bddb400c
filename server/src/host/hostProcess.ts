// The language server's handle on the model host child process: typed requests, cancellation
// by AbortSignal, and a death that is always reported as one human sentence. Pending requests
// reject with that sentence when the child dies, so nothing waits forever. Every request has a
// deadline; a host that misses one is hung (stopped, or stuck in native code) and is killed, and
// a cancelled generation is answered at once even when the host cannot answer.
// Must not import node-llama-cpp: the server stays pure TypeScript.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  CancellationTokenSource,
  createMessageConnection,
  Emitter,
  IPCMessageReader,
  IPCMessageWriter,
  ResponseError,
  type Event,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  chatChunkNotification,
  chatRequest,
  infillRequest,
  prefillRequest,
  loadRequest,
  noFigures,
  pingRequest,
  saveStateRequest,
  shutdownRequest,
  statsRequest,
  unloadRequest,
  type ChatGenerateParams,
  type GenerationResult,
  type HostStats,
  type InfillParams,
  type PrefillParams,
  type PrefillResult,
  type LoadParams,
  type SaveStateParams,
  type SaveStateResult,
  type LoadResult,
} from './protocol';
import { shortenPaths } from '../shared/text';
import { readProcessRss } from './memory';

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (shutdown or kill). */
  expected: boolean;
  /** True when it was killed for missing a deadline (expected is false then). */
  hung: boolean;
  /** One human sentence saying what happened. */
  message: string;
}

/** How long the host may take to answer each request before it counts as hung. */
export interface HostDeadlines {
  /** The first answer of a new host, which waits for node-llama-cpp's import. */
  startMs: number;
  /** host/stats: a cheap read the host answers even while it generates. */
  statsMs: number;
  /** host/load: the file check, llama.cpp's load and the context. */
  loadMs: number;
  /** host/unload: waits for a generation still running, then frees the model. */
  unloadMs: number;
  /** A generation may take this much, plus perTokenMs for each token it may write. */
  generationMs: number;
  perTokenMs: number;
  /** A cancelled generation waits this long for the host's own answer (the text so far), then answers itself. */
  cancelGraceMs: number;
  /**
   * While a load, a generation or an unload is pending, the host is pinged this often (each
   * ping with the stats deadline): its event loop answers within milliseconds even while native
   * code loads or generates, so a stopped or stuck host is found long before the request's own
   * deadline.
   */
  heartbeatMs: number;
}

export const defaultHostDeadlines: HostDeadlines = {
  startMs: 60_000,
  statsMs: 10_000,
  loadMs: 10 * 60_000,
  unloadMs: 60_000,
  generationMs: 60_000,
  perTokenMs: 1000,
  cancelGraceMs: 250,
  heartbeatMs: 5000,
};

export interface HostProcessOptions {
  /** The bundled host entry, dist/host.js. */
  hostPath: string;
  /** Each line the host writes to stdout or stderr. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Defaults: defaultHostDeadlines. */
  deadlines?: Partial<HostDeadlines>;
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
  | 'a chat answer';

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} minutes`;
}

const recentLineCount = 20;
/**
 * glibc raises its trim threshold after large frees and then keeps freed heap for reuse, which
 * left 20-40 MB of each unloaded model in RSS. A fixed threshold gives it back to the system
 * (measured: 8 load/unload cycles of a 270 MB model ended within 2 MB of the pre-load RSS).
 */
const mallocTrimThreshold = String(128 * 1024);
const looksLikeError = /error|assert|abort|fail|fatal|exception/i;

/** The sentence for a child that ended; `detail` is its last error-looking output line. */
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
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly exitEmitter = new Emitter<HostExit>();
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
  private readonly exited: Promise<HostExit>;

  /** Fires once when the child process ends, for whatever reason. */
  readonly onExit: Event<HostExit> = this.exitEmitter.event;

  constructor(private readonly options: HostProcessOptions) {
    this.deadlines = { ...defaultHostDeadlines, ...options.deadlines };
    if (!existsSync(options.hostPath)) {
      throw new Error(`The model host ${options.hostPath} does not exist; the extension is not built.`);
    }
    const env = options.env ?? process.env;
    // Our own execArgv: the parent's --inspect or --import must not reach the host. The host
    // collects garbage after an unload so the model's metadata leaves the JS heap as well.
    this.child = fork(options.hostPath, [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...env, MALLOC_TRIM_THRESHOLD_: env['MALLOC_TRIM_THRESHOLD_'] ?? mallocTrimThreshold },
      serialization: 'json',
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }
    let rejectDeath: (err: Error) => void = () => undefined;
    this.death = new Promise<never>((_, reject) => (rejectDeath = reject));
    this.death.catch(() => undefined);
    this.exited = new Promise<HostExit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        const detail = [...this.recentLines].reverse().find((l) => looksLikeError.test(l)) ?? null;
        const hung = this.hangMessage !== null && !this.expectExit;
        const message = hung && this.hangMessage !== null ? this.hangMessage : describeExit(code, signal, this.expectExit, detail);
        const exit: HostExit = { code, signal, expected: this.expectExit, hung, message };
        this.exitInfo = exit;
        this.watch(0);
        rejectDeath(new Error(exit.message));
        this.connection.dispose();
        this.chatStreams.clear();
        resolve(exit);
        this.exitEmitter.fire(exit);
        this.exitEmitter.dispose();
      });
    });
    this.child.on('error', (err) => this.onLine(`model host process error: ${err.message}`));

    this.connection = createMessageConnection(new IPCMessageReader(this.child), new IPCMessageWriter(this.child));
    this.connection.onNotification(chatChunkNotification, ({ streamId, text }) => this.chatStreams.get(streamId)?.(text));
    // Writes to a channel that just closed fail; the exit event carries the real story.
    this.connection.onError(() => undefined);
    this.connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Null while the process runs. */
  get exit(): HostExit | null {
    return this.exitInfo;
  }

  /** RSS from /proc, answered even while the host is busy in native code. */
  rssBytes(): number | null {
    return this.exitInfo || this.child.pid === undefined ? null : readProcessRss(this.child.pid);
  }

  /**
   * Loads the model. Aborting `signal` cancels the load in the host; the promise then rejects
   * once the host confirms, or after the cancel grace when it does not answer.
   */
  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    return this.request('the model load', this.deadlines.loadMs, (token) => this.connection.sendRequest(loadRequest, params, token), {
      signal,
      cancelled: () => {
        throw new Error(`Loading ${params.modelPath} was cancelled.`);
      },
      watch: true,
    });
  }

  /** Before a sleep: the host saves its sequences' state (bounded like an unload). */
  saveState(params: SaveStateParams): Promise<SaveStateResult> {
    return this.request('the request to save the model state', this.deadlines.unloadMs, (token) => this.connection.sendRequest(saveStateRequest, params, token), {
      watch: true,
    });
  }

  /** Light sleep: frees model and context, keeps the process. */
  unload(): Promise<HostStats> {
    return this.request('the request to free the model', this.deadlines.unloadMs, (token) => this.connection.sendRequest(unloadRequest, token), {
      watch: true,
    });
  }

  /** A cancelled infill answers stopReason abort at once, whether or not the host does. */
  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.request<GenerationResult>('a completion', this.generationDeadline(params.maxTokens), (token) => this.connection.sendRequest(infillRequest, params, token), {
      signal,
      cancelled: () => ({ text: '', stopReason: 'abort', tokens: 0, figures: noFigures }),
      watch: true,
    });
  }

  /** Evaluates an infill's prompt, generating nothing; a cancelled one answers `stopped` at once, whether or not the host does. */
  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.request<PrefillResult>('a prefill', this.generationDeadline(params.maxTokens), (token) => this.connection.sendRequest(prefillRequest, params, token), {
      signal,
      cancelled: () => ({ promptTokens: 0, evaluatedTokens: 0, stopped: true }),
      watch: true,
    });
  }

  /** A cancelled chat answers stopReason abort with the text streamed so far, whether or not the host does. */
  async chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
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
        (token) => this.connection.sendRequest(chatRequest, { ...params, streamId }, token),
        // The host's count is unknown when it does not answer.
        { signal, cancelled: () => ({ text: streamed, stopReason: 'abort', tokens: 0, figures: noFigures }), watch: true },
      );
    } finally {
      this.chatStreams.delete(streamId);
    }
  }

  stats(): Promise<HostStats> {
    const deadline = this.answeredOnce ? this.deadlines.statsMs : Math.max(this.deadlines.startMs, this.deadlines.statsMs);
    return this.request('a status request', deadline, (token) => this.connection.sendRequest(statsRequest, token));
  }

  /**
   * Asks the host to dispose and exit; SIGTERM after most of `timeoutMs`, SIGKILL at the bound.
   * Resolves once the process is gone.
   */
  async shutdown(timeoutMs = 3000): Promise<HostExit> {
    if (this.exitInfo) return this.exitInfo;
    this.expectExit = true;
    this.connection.sendRequest(shutdownRequest).catch(() => undefined);
    if (await this.exitWithin(Math.round(timeoutMs * 0.7))) return this.exited;
    this.child.kill('SIGTERM');
    if (await this.exitWithin(Math.round(timeoutMs * 0.3))) return this.exited;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Ends the host at once (SIGKILL), as an expected exit. */
  kill(): Promise<HostExit> {
    if (!this.exitInfo) {
      this.expectExit = true;
      this.child.kill('SIGKILL');
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
    send: (token: CancellationToken) => Promise<R>,
    options: { signal?: AbortSignal; cancelled?: () => R; watch?: boolean } = {},
  ): Promise<R> {
    if (this.exitInfo) throw new Error(this.exitInfo.message);
    const source = new CancellationTokenSource();
    let reply: Promise<R>;
    try {
      reply = send(source.token);
    } catch (err) {
      // A channel that just closed throws at once; the exit event carries the real story.
      reply = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
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
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    this.request('a check that it still runs', this.deadlines.statsMs, (token) => this.connection.sendRequest(pingRequest, token))
      .catch(() => undefined)
      .finally(() => (this.heartbeatInFlight = false));
  }

  /** The host missed a deadline: it is stopped or stuck, and nothing it holds can be trusted. */
  private hung(what: RequestWhat, deadlineMs: number): void {
    if (this.exitInfo || this.expectExit || this.hangMessage !== null) return;
    this.hangMessage = `The model host did not answer ${what} within ${formatDuration(deadlineMs)}, so it was stopped; the next request starts a new one.`;
    this.onLine(this.hangMessage);
    // SIGKILL ends a stopped process too.
    this.child.kill('SIGKILL');
  }

  private onLine(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > recentLineCount) this.recentLines.shift();
    this.options.log?.(line);
  }
}
