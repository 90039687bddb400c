// The language server's handle on the model host child process: typed requests, cancellation
// by AbortSignal, and a death that is always reported as one human sentence. Pending requests
// reject with that sentence when the child dies, so nothing waits forever.
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
  loadRequest,
  shutdownRequest,
  statsRequest,
  unloadRequest,
  type ChatGenerateParams,
  type GenerationResult,
  type HostStats,
  type InfillParams,
  type LoadParams,
  type LoadResult,
} from './protocol';
import { shortenPaths } from '../shared/text';
import { readProcessRss } from './memory';

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop (shutdown or kill). */
  expected: boolean;
  /** One human sentence saying what happened. */
  message: string;
}

export interface HostProcessOptions {
  /** The bundled host entry, dist/host.js. */
  hostPath: string;
  /** Each line the host writes to stdout or stderr. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
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
  private exitInfo: HostExit | null = null;
  /** Rejects with the exit sentence; raced against every request. */
  private readonly death: Promise<never>;
  private readonly exited: Promise<HostExit>;

  /** Fires once when the child process ends, for whatever reason. */
  readonly onExit: Event<HostExit> = this.exitEmitter.event;

  constructor(private readonly options: HostProcessOptions) {
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
        const exit: HostExit = { code, signal, expected: this.expectExit, message: describeExit(code, signal, this.expectExit, detail) };
        this.exitInfo = exit;
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

  load(params: LoadParams): Promise<LoadResult> {
    return this.request((token) => this.connection.sendRequest(loadRequest, params, token));
  }

  /** Light sleep: frees model and context, keeps the process. */
  unload(): Promise<HostStats> {
    return this.request((token) => this.connection.sendRequest(unloadRequest, token));
  }

  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.request((token) => this.connection.sendRequest(infillRequest, params, token), signal);
  }

  async chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const streamId = this.nextStreamId++;
    this.chatStreams.set(streamId, onChunk);
    try {
      return await this.request((token) => this.connection.sendRequest(chatRequest, { ...params, streamId }, token), signal);
    } finally {
      this.chatStreams.delete(streamId);
    }
  }

  stats(): Promise<HostStats> {
    return this.request((token) => this.connection.sendRequest(statsRequest, token));
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

  private async request<R>(send: (token: CancellationToken) => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (this.exitInfo) throw new Error(this.exitInfo.message);
    const source = new CancellationTokenSource();
    const cancel = (): void => source.cancel();
    if (signal?.aborted) source.cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await Promise.race([send(source.token), this.death]);
    } catch (err) {
      // The host may have died while this request waited (the check above ran before).
      const exit = this.exit;
      if (exit) throw new Error(exit.message, { cause: err });
      if (err instanceof ResponseError) throw new Error(err.message, { cause: err });
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
      source.dispose();
    }
  }

  private onLine(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > recentLineCount) this.recentLines.shift();
    this.options.log?.(line);
  }
}
