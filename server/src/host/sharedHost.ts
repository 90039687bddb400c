// The model host shared by every language server of one user that asks for the same model and
// load settings (rendezvous.ts). It listens on the per-user socket and serves each attached
// server the same requests as the child host does over IPC, and it decides the sleep for all of
// them: the model sleeps when no window has been active for the shortest idle time among them,
// a load asked by several windows at once is one load, and Sleep Now from one is a sleep for all.
// All windows share the one completion sequence: the window the user is in goes first
// (completionPriority.ts decides, this class stops the work that yields), and the engine keeps
// each window's completion state across a switch, so that A, B, A does not evaluate A's prompt again.
// Every change of the shared state is sent to every client, so each window's gate can follow it.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import {
  createMessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { abortSignalOf } from '../shared/cancellation';
import { errorMessage } from '../shared/errors';
import { processStartTime } from '../shared/processes';
import { answer } from './answer';
import { CompletionPriority, type CompletionWork } from './completionPriority';
import type { CompletionOwner, LlamaEngine } from './engine';
import { EngineError } from './engineError';
import { ownRssBytes } from './memory';
import { acquirePidLock, releasePidLock } from './pidLock';
import * as host from './protocol';
import { hostKey, type HostDescription, type HostIdentity, type RendezvousPaths } from './rendezvous';

export interface SharedHostOptions {
  engine: LlamaEngine;
  identity: HostIdentity;
  paths: RendezvousPaths;
  /** How long the host waits for a new client after the last one left (or none came) before it exits. */
  graceMs: number;
  /** Whose completion work goes first (completionPriority.ts); false: first come, first served (the benchmark's baseline). Default true. */
  priority?: boolean;
  /** Whether each window's completion state is kept across a switch to another window (engine.ts); false: the benchmark's baseline. Default true. */
  windowStates?: boolean;
  log(line: string): void;
}

/** How long the exit waits for node-llama-cpp to dispose before the process ends anyway. */
const disposeBoundMs = 1500;
/**
 * How long a new host waits for its first window. Longer than the grace after the last one: on a
 * busy machine the server that started it may take a while to say hello, and a host that ended
 * meanwhile would fail that window's load.
 */
const firstWindowMs = 30_000;

interface Client {
  connection: MessageConnection;
  /** 0 until its hello. */
  pid: number;
  idleMs: number;
  sleepMode: 'deep' | 'light';
  stateCapBytes: number;
  /** Generations of this client that run or wait in the engine. */
  running: Set<AbortController>;
  /** The host's name for this window's completion state (engine.ts, CompletionOwner); never one the window sends. */
  owner: string;
}

/** Completion-sequence work that runs or waits in the engine, and whether it was made to yield to another window. */
interface PendingWork extends CompletionWork<Client> {
  controller: AbortController;
  yielded: boolean;
}

/**
 * A controller that the request's cancellation aborts, and that the host can also abort itself
 * (a sleep, its window detaching, another window's completion).
 */
function controllerFor(token: CancellationToken): AbortController {
  const controller = new AbortController();
  const signal = abortSignalOf(token);
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}

export class SharedHost {
  private readonly clients = new Set<Client>();
  private server: net.Server | null = null;
  private state: host.SharedHostState['state'] = 'empty';
  private byUser = false;
  private deep = false;
  private loads = 0;
  /** RSS just before the first load, for every window's status (SharedHostState). */
  private baselineRssBytes: number | null = null;
  private sleepRssBytes: host.SharedHostState['sleepRssBytes'] = null;
  private loaded: host.LoadResult | null = null;
  private lastParams: host.LoadParams | null = null;
  private loading: { promise: Promise<host.LoadResult>; controller: AbortController; waiting: number } | null = null;
  private sleeping: Promise<void> | null = null;
  private inFlight = 0;
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private exiting = false;
  /** The last state cap a client gave, for the save at the grace exit when no client is left. */
  private lastCap = 0;
  /** Some window said hello since the host started. */
  private greeted = false;
  private readonly priority: CompletionPriority<Client>;
  /** Every window's completion-sequence work in flight, for the priority to stop. */
  private readonly pendingWork = new Set<PendingWork>();
  /** Names the next client's completion state. */
  private clientCount = 0;

  constructor(private readonly options: SharedHostOptions) {
    this.priority = new CompletionPriority(options.priority ?? true);
  }

  /**
   * Takes the lock and listens. Returns false when another live host of this identity holds the
   * lock: the caller exits, and the server that started it connects to that one.
   */
  async listen(): Promise<boolean> {
    const { paths } = this.options;
    if (!acquirePidLock(paths.lock)) return false;
    // Holding the lock, any socket file left is a dead host's.
    if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
    const server = net.createServer((socket) => this.attach(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(paths.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logLine(`The model host's socket failed: ${errorMessage(err)}`));
    if (process.platform !== 'win32') chmodSync(paths.socket, 0o600);
    this.server = server;
    const description: HostDescription = { ...this.options.identity, pid: process.pid, startTime: processStartTime(process.pid) };
    writeFileSync(paths.description, JSON.stringify(description), { mode: 0o600 });
    this.logLine(`Model host ${process.pid} listening at ${paths.socket}.`);
    // The server that started this host may be gone before it attaches.
    this.armGrace();
    return true;
  }

  /** A line for the host's own log and for every attached window's. */
  logLine(line: string): void {
    this.options.log(line);
    for (const client of this.clients) void client.connection.sendNotification(host.logNotification, line).catch(() => undefined);
  }

  private snapshot(): host.SharedHostState {
    return {
      state: this.state,
      byUser: this.byUser,
      deep: this.deep,
      clients: this.windows(),
      loads: this.loads,
      idleMsLeft: this.idleMsLeft(),
      hostPid: process.pid,
      baselineRssBytes: this.baselineRssBytes,
      sleepRssBytes: this.sleepRssBytes,
    };
  }

  private broadcast(): void {
    const state = this.snapshot();
    for (const client of this.clients) {
      if (client.pid !== 0) void client.connection.sendNotification(host.stateNotification, state).catch(() => undefined);
    }
  }

  // ---- clients ----------------------------------------------------------------------------

  private attach(socket: net.Socket): void {
    if (this.exiting) {
      socket.destroy();
      return;
    }
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    const client: Client = {
      connection,
      pid: 0,
      idleMs: 0,
      sleepMode: 'deep',
      stateCapBytes: 0,
      running: new Set(),
      owner: `window-${++this.clientCount}`,
    };
    this.clients.add(client);
    const reply = <T>(work: () => Promise<T>): Promise<T> => answer((line) => this.logLine(line), work);
    socket.on('error', () => undefined);
    connection.onError(() => undefined);
    connection.onClose(() => this.detach(client));
    connection.onRequest(host.helloRequest, (params) => {
      // Its connection closed before its hello was read (a window that stopped at once): it must
      // not count, nor cancel the grace that ends a host nobody uses.
      if (!this.clients.has(client)) return this.snapshot();
      this.configure(client, params);
      client.pid = params.clientPid;
      this.greeted = true;
      // Only a window that said hello keeps the host; a peek at its state (attach.ts) does not.
      this.clearGrace();
      this.logLine(`Window server ${params.clientPid} attached (${this.snapshot().clients} now).`);
      this.touch();
      this.broadcast();
      return this.snapshot();
    });
    connection.onNotification(host.configureNotification, (params) => {
      this.configure(client, params);
      this.armIdle();
      this.broadcast();
    });
    connection.onNotification(host.activityNotification, () => {
      this.yieldAll(this.priority.activity(client, Date.now(), this.pendingWork));
      this.touch();
      this.broadcast();
    });
    connection.onRequest(host.loadRequest, (params, token) => reply(() => this.load(params, token)));
    connection.onRequest(host.saveStateRequest, (params) => reply(() => this.options.engine.saveStates(params.capBytes)));
    connection.onRequest(host.unloadRequest, () =>
      reply(async () => {
        await this.sleep({ byUser: true, deep: false, save: false });
        return this.options.engine.stats();
      }),
    );
    connection.onRequest(host.shutdownRequest, () => reply(() => this.sleep({ byUser: true, deep: true, save: false })));
    connection.onRequest(host.infillRequest, (params, token) => reply(() => this.infill(client, token, params)));
    connection.onRequest(host.prefillRequest, (params, token) => reply(() => this.prefill(client, token, params)));
    connection.onRequest(host.chatRequest, (params, token) =>
      reply(() => {
        // A question in the chat: the user is in this window.
        this.yieldAll(this.priority.activity(client, Date.now(), this.pendingWork));
        return this.generate(client, controllerFor(token), token, (signal) =>
          this.options.engine.chat(
            { messages: params.messages, maxTokens: params.maxTokens },
            // The answer streams to the window that asked, and to no other.
            (text) =>
              void connection.sendNotification(host.chatChunkNotification, { streamId: params.streamId, text }).catch(() => undefined),
            signal,
          ),
        );
      }),
    );
    connection.onRequest(host.statsRequest, () => reply(() => this.options.engine.stats()));
    connection.onRequest(host.pingRequest, () => undefined);
    connection.listen();
  }

  private configure(client: Client, params: Omit<host.HelloParams, 'clientPid'>): void {
    client.idleMs = Number.isFinite(params.idleMs) && params.idleMs > 0 ? params.idleMs : 0;
    client.sleepMode = params.sleepMode === 'light' ? 'light' : 'deep';
    client.stateCapBytes = Number.isFinite(params.stateCapBytes) && params.stateCapBytes > 0 ? params.stateCapBytes : 0;
    this.lastCap = client.stateCapBytes;
  }

  private detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    // Its generations have nobody to answer to.
    for (const controller of client.running) controller.abort();
    this.priority.forget(client);
    void this.options.engine.forgetOwner(client.owner).catch(() => undefined);
    if (client.pid !== 0) this.logLine(`Window server ${client.pid} detached (${this.snapshot().clients} left).`);
    this.armIdle();
    this.broadcast();
    if (this.windows() === 0 && this.graceTimer === null) this.armGrace();
  }

  /** Attached windows (clients that said hello). */
  private windows(): number {
    return [...this.clients].filter((c) => c.pid !== 0).length;
  }

  private armGrace(): void {
    this.clearGrace();
    if (this.exiting) return;
    this.graceTimer = setTimeout(
      () => {
        this.graceTimer = null;
        if (this.windows() > 0) return;
        this.logLine('No window uses the model host any more; it exits.');
        void this.sleep({ byUser: false, deep: true, save: true });
      },
      this.greeted ? this.options.graceMs : Math.max(this.options.graceMs, firstWindowMs),
    );
  }

  private clearGrace(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }

  // ---- the model --------------------------------------------------------------------------

  /**
   * Loads the model once for everybody: a loaded model is answered at once, a load under way is
   * joined. The load is cancelled only when every client waiting on it cancelled.
   */
  private async load(params: host.LoadParams, token: CancellationToken): Promise<host.LoadResult> {
    if (hostKey(params) !== hostKey(this.options.identity)) {
      throw new EngineError(
        `This model host serves ${this.options.identity.modelPath} with other settings; the server asked the wrong host.`,
      );
    }
    if (this.sleeping) await this.sleeping;
    if (this.exiting) throw new EngineError('The model host is going to sleep (deep); the next request starts a new one.');
    if (this.state === 'ready' && this.loaded) return this.loaded;
    const signal = abortSignalOf(token);
    let loading = this.loading;
    if (!loading) {
      const controller = new AbortController();
      this.baselineRssBytes ??= ownRssBytes();
      this.sleepRssBytes = null;
      this.lastParams = params;
      this.state = 'loading';
      this.byUser = false;
      this.broadcast();
      const promise = this.options.engine.load(params, controller.signal).then(
        (result) => {
          this.loads++;
          this.loaded = result;
          this.state = 'ready';
          this.loading = null;
          this.touch();
          this.broadcast();
          return result;
        },
        (err: unknown) => {
          this.loaded = null;
          this.state = 'empty';
          this.loading = null;
          this.broadcast();
          throw err;
        },
      );
      loading = this.loading = { promise, controller, waiting: 0 };
    }
    const current = loading;
    current.waiting++;
    let waiting = true;
    const stopWaiting = (): void => {
      if (!waiting) return;
      waiting = false;
      // The last one to stop waiting stops the load.
      if (--current.waiting === 0 && this.loading === current) current.controller.abort();
    };
    try {
      return await new Promise<host.LoadResult>((resolve, reject) => {
        current.promise.then(resolve, reject);
        const onAbort = (): void => {
          stopWaiting();
          reject(new EngineError(`Loading ${params.modelPath} was cancelled.`));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      if (waiting) {
        waiting = false;
        current.waiting--;
      }
    }
  }

  /**
   * One generation of one client, aborted by `controller`. A request that finds the model asleep
   * (a window that had not yet heard of the sleep) wakes it with the last load's settings.
   */
  private async generate(
    client: Client,
    controller: AbortController,
    token: CancellationToken,
    run: (signal: AbortSignal) => Promise<host.GenerationResult>,
  ): Promise<host.GenerationResult> {
    client.running.add(controller);
    this.inFlight++;
    this.touch();
    try {
      if (this.state !== 'ready' && this.lastParams && !this.exiting) await this.load(this.lastParams, token);
      return await run(controller.signal);
    } finally {
      client.running.delete(controller);
      this.inFlight--;
      this.touch();
    }
  }

  /**
   * A completion, or the next suggestion in the background: first the priority decides whether
   * it runs and which other window's work yields to it (completionPriority.ts).
   */
  private async infill(client: Client, token: CancellationToken, params: host.InfillParams): Promise<host.GenerationResult> {
    const work = this.admit(client, params.background === true ? 'background' : 'completion', token);
    if (!work) return { text: '', stopReason: 'abort', tokens: 0, figures: host.noFigures, yielded: true };
    try {
      const result = await this.generate(client, work.controller, token, (signal) =>
        this.options.engine.infill(params, signal, this.ownerOf(client)),
      );
      return work.yielded && result.stopReason === 'abort' ? { ...result, yielded: true } : result;
    } finally {
      this.pendingWork.delete(work);
    }
  }

  /**
   * Background evaluation (a window's context ring while its user pauses): never wakes the model,
   * never counts as activity, stops with its window, and yields to the window the user is in.
   */
  private async prefill(client: Client, token: CancellationToken, params: host.PrefillParams): Promise<host.PrefillResult> {
    const stopped: host.PrefillResult = { promptTokens: 0, evaluatedTokens: 0, stopped: true };
    if (this.state !== 'ready' || this.exiting) return stopped;
    const work = this.admit(client, 'background', token);
    if (!work) return { ...stopped, yielded: true };
    client.running.add(work.controller);
    try {
      const result = await this.options.engine.prefill(params, work.controller.signal, this.ownerOf(client));
      return work.yielded ? { ...result, yielded: true } : result;
    } finally {
      client.running.delete(work.controller);
      this.pendingWork.delete(work);
    }
  }

  /**
   * Whose completion this is, for the engine to keep each window's completion state across a
   * switch to another window; the bytes are what the windows allow for saved state (stateCacheMB),
   * none when LOCAL_LLM_HOST_WINDOW_STATES=off (the benchmark's baseline).
   */
  private ownerOf(client: Client): CompletionOwner {
    const cap = this.options.windowStates === false ? 0 : this.stateCap();
    return { key: client.owner, capBytes: cap };
  }

  /** The largest state cap of the attached windows, or the last one given. */
  private stateCap(): number {
    return Math.max(0, ...[...this.clients].map((c) => c.stateCapBytes), this.lastCap);
  }

  /** The priority's decision for new completion work: null when it yields at once; else its entry, after the work it stops. */
  private admit(client: Client, kind: PendingWork['kind'], token: CancellationToken): PendingWork | null {
    const { run, stop } = this.priority.admit({ window: client, kind }, Date.now(), this.pendingWork);
    this.yieldAll(stop);
    if (!run) return null;
    const work: PendingWork = { window: client, kind, controller: controllerFor(token), yielded: false };
    this.pendingWork.add(work);
    return work;
  }

  /** Aborts work that yields to another window's; queued, it answers at once, running, at its next token or batch. */
  private yieldAll(works: PendingWork[]): void {
    for (const work of works) {
      if (work.controller.signal.aborted) continue;
      work.yielded = true;
      work.controller.abort();
    }
  }

  /**
   * Sleep for every window: completions are aborted, chats finish, then the model is freed
   * (light) or the process ends (deep). `save` keeps the sequences' state first, when the host
   * decided the sleep itself (a window that asks saves before it asks).
   */
  private sleep(how: { byUser: boolean; deep: boolean; save: boolean }): Promise<void> {
    if (this.exiting) return this.sleeping ?? Promise.resolve();
    if (this.sleeping && !how.deep) return this.sleeping;
    const previous = this.sleeping;
    const op = (async () => {
      if (previous) await previous;
      if (this.loading) await this.loading.promise.catch(() => undefined);
      this.clearIdle();
      this.byUser = how.byUser;
      this.deep = how.deep;
      const wasLoaded = this.state === 'ready';
      if (wasLoaded) this.sleepRssBytes = { before: ownRssBytes(), after: null };
      this.state = 'sleeping';
      if (how.deep) this.exiting = true;
      this.broadcast();
      for (const client of this.clients) for (const controller of client.running) controller.abort();
      if (how.save && wasLoaded) {
        const cap = this.stateCap();
        if (cap > 0) await this.options.engine.saveStates(cap).catch(() => undefined);
      }
      if (how.deep) {
        await this.exit();
        return;
      }
      await this.options.engine.unload();
      if (this.sleepRssBytes) this.sleepRssBytes = { ...this.sleepRssBytes, after: ownRssBytes() };
      this.loaded = null;
      this.broadcast();
    })();
    const tracked = (this.sleeping = op.finally(() => {
      if (this.sleeping === tracked) this.sleeping = null;
    }));
    return tracked;
  }

  /** Stops listening, gives up the rendezvous for a new host, frees the model and ends the process. */
  private async exit(): Promise<void> {
    const { paths } = this.options;
    this.clearGrace();
    this.server?.close();
    this.server = null;
    rmSync(paths.description, { force: true });
    if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
    releasePidLock(paths.lock);
    const disposed = await Promise.race([
      this.options.engine.dispose().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), disposeBoundMs)),
    ]);
    if (!disposed) this.logLine(`Disposing the model did not finish within ${disposeBoundMs} ms; the process exits anyway.`);
    // Let the replies leave before the process does.
    setTimeout(() => process.exit(0), 50);
  }

  // ---- the shared idle time ---------------------------------------------------------------

  /** The shortest idle time any attached window asks for; null when none asks for sleep. */
  private idleMs(): number | null {
    const asked = [...this.clients].filter((c) => c.pid !== 0 && c.idleMs > 0).map((c) => c.idleMs);
    return asked.length === 0 ? null : Math.min(...asked);
  }

  private idleMsLeft(): number | null {
    const idle = this.idleMs();
    if (this.state !== 'ready' || idle === null || this.sleeping) return null;
    if (this.inFlight > 0) return idle;
    return Math.max(0, this.lastActivity + idle - Date.now());
  }

  private touch(): void {
    this.lastActivity = Date.now();
    this.armIdle();
  }

  private armIdle(): void {
    this.clearIdle();
    const left = this.idleMsLeft();
    if (left === null || this.inFlight > 0) return;
    this.idleTimer = setTimeout(() => this.onIdle(), left);
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private onIdle(): void {
    this.idleTimer = null;
    const left = this.idleMsLeft();
    if (left === null || this.inFlight > 0) return;
    if (left > 0) {
      this.armIdle();
      return;
    }
    const deep = [...this.clients].some((c) => c.pid !== 0 && c.sleepMode === 'deep');
    this.logLine(
      `No window has been active for ${Math.round((this.idleMs() ?? 0) / 1000)} s: the model sleeps (${deep ? 'deep' : 'light'}).`,
    );
    void this.sleep({ byUser: false, deep, save: true });
  }
}
