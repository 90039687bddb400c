// The shared host's clients: the per-user socket (with its lock and description, rendezvous.ts),
// each language server attached to it (hello, settings, detach), and the one table that routes a
// client's messages to the host. A host that no window uses for its grace time is told so.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import {
  createMessageConnection,
  SocketMessageReader,
  SocketMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { errorMessage } from '../shared/errors';
import { answer } from './answer';
import { acquirePidLock, releasePidLock } from '../shared/pidLock';
import * as host from './protocol';
import type {
  ChatTurnParams,
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  LoadResult,
  PrefillParams,
  PrefillResult,
  SaveStateResult,
} from '../engine/types';
import type { HostDescription, HostIdentity, RendezvousPaths } from '../shared/rendezvous';
import { processStartTime } from '../shared/processes';

export interface HostClient {
  readonly connection: MessageConnection;
  /** 0 until its hello. */
  pid: number;
  idleMs: number;
  sleepMode: 'deep' | 'light';
  stateCapBytes: number;
  /** localLlm.sleep.standby of this window: a deep sleep leaves a standby host (standby.ts). */
  standby: boolean;
  /** A window in deep sleep that keeps the standby host alive (watchRequest); not a window until it says hello. */
  watching: boolean;
  /** Generations of this client that run or wait in the engine. */
  readonly running: Set<AbortController>;
  /** The host's name for this window's completion state (CompletionOwner); never one the window sends. */
  readonly owner: string;
}

/** What a client's messages ask of the host: the one handler table routes each message to one of these. */
export interface HostRequests {
  /** A window said hello (its settings are taken): the state it gets back. */
  attached(client: HostClient): host.SharedHostState;
  configured(client: HostClient): void;
  activity(client: HostClient): void;
  /** A client's connection closed; its generations are aborted already. */
  detached(client: HostClient): void;
  loadModel(params: LoadParams, token: CancellationToken): Promise<LoadResult>;
  saveStates(capBytes: number): Promise<SaveStateResult>;
  unload(): Promise<HostStats>;
  shutdown(): Promise<void>;
  infill(client: HostClient, params: InfillParams, token: CancellationToken): Promise<GenerationResult>;
  prefill(client: HostClient, params: PrefillParams, token: CancellationToken): Promise<PrefillResult>;
  chatPrefill(client: HostClient, params: ChatTurnParams, token: CancellationToken): Promise<PrefillResult>;
  chat(
    client: HostClient,
    params: host.ChatGenerateParams,
    token: CancellationToken,
    onChunk: (text: string) => void,
  ): Promise<GenerationResult>;
  stats(): Promise<HostStats>;
  /** No window has used the host for its grace time. */
  unused(): void;
  /** The state a client that is not a window (yet) gets. */
  snapshot(): host.SharedHostState;
}

export interface HostClientsOptions {
  identity: HostIdentity;
  paths: RendezvousPaths;
  /** How long the host waits for a new client after the last one left (or none came) before it is unused. */
  graceMs: number;
  /** The host's own log. */
  log(line: string): void;
  /** Set once the host is on its way out: new connections are refused and no grace is armed. */
  exiting(): boolean;
}

/**
 * How long a new host waits for its first window. Longer than the grace after the last one: on a
 * busy machine the server that started it may take a while to say hello, and a host that ended
 * meanwhile would fail that window's load.
 */
const firstWindowMs = 30_000;

export class HostClients {
  private readonly clients = new Set<HostClient>();
  private server: net.Server | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Some window said hello since the host started. */
  private greeted = false;
  /** The last state cap a client gave, for the save at the grace exit when no client is left. */
  private lastCap = 0;
  /** Names the next client's completion state. */
  private clientCount = 0;

  constructor(
    private readonly options: HostClientsOptions,
    private readonly requests: HostRequests,
  ) {}

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

  /** Where this host meets its windows. */
  get rendezvous(): RendezvousPaths {
    return this.options.paths;
  }

  /** Whether a deep sleep now should leave a standby host: some window is attached and every one asks for it. */
  wantStandby(): boolean {
    const windows = this.windowClients();
    return windows.length > 0 && windows.every((c) => c.standby);
  }

  /** The pids of the attached windows' language servers. */
  windowPids(): number[] {
    return this.windowClients().map((c) => c.pid);
  }

  /** Whether some window or watcher has said it wants no standby host. */
  standbyRefused(): boolean {
    return [...this.clients].some((c) => (c.pid !== 0 || c.watching) && !c.standby);
  }

  /** Windows in deep sleep that keep this host alive as their standby. */
  watchers(): number {
    return [...this.clients].filter((c) => c.watching && c.pid === 0).length;
  }

  /** Stops listening and gives up the rendezvous (description, socket, lock) for a new host. */
  close(): void {
    const { paths } = this.options;
    this.clearGrace();
    this.server?.close();
    this.server = null;
    rmSync(paths.description, { force: true });
    if (process.platform !== 'win32') rmSync(paths.socket, { force: true });
    releasePidLock(paths.lock);
  }

  /** A line for the host's own log and for every attached window's. */
  logLine(line: string): void {
    this.options.log(line);
    for (const client of this.clients) void client.connection.sendNotification(host.logNotification, line).catch(() => undefined);
  }

  /** The shared state to every window. */
  broadcast(state: host.SharedHostState): void {
    for (const client of this.windowClients())
      void client.connection.sendNotification(host.stateNotification, state).catch(() => undefined);
  }

  /** Attached windows (clients that said hello). */
  windows(): number {
    return this.windowClients().length;
  }

  /** The idle time each window asks for (0: never). */
  idleTimes(): number[] {
    return this.windowClients().map((c) => c.idleMs);
  }

  /** Whether some window sleeps deep (then a sleep for all is deep). */
  anyDeep(): boolean {
    return this.windowClients().some((c) => c.sleepMode === 'deep');
  }

  /** The largest state cap of the attached clients, or the last one given. */
  stateCap(): number {
    return Math.max(0, ...[...this.clients].map((c) => c.stateCapBytes), this.lastCap);
  }

  /** Aborts every client's generations (a sleep for all). */
  abortAll(): void {
    for (const client of this.clients) for (const controller of client.running) controller.abort();
  }

  private windowClients(): HostClient[] {
    return [...this.clients].filter((c) => c.pid !== 0);
  }

  private attach(socket: net.Socket): void {
    if (this.options.exiting()) {
      socket.destroy();
      return;
    }
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    const client: HostClient = {
      connection,
      pid: 0,
      idleMs: 0,
      sleepMode: 'deep',
      stateCapBytes: 0,
      standby: false,
      watching: false,
      running: new Set(),
      owner: `window-${++this.clientCount}`,
    };
    this.clients.add(client);
    socket.on('error', () => undefined);
    connection.onError(() => undefined);
    connection.onClose(() => this.detach(client));
    this.route(client);
    connection.listen();
  }

  /** The one handler table: every message a client may send, and what answers it. */
  private route(client: HostClient): void {
    const { connection } = client;
    const r = this.requests;
    const reply = <T>(work: () => Promise<T>): Promise<T> => answer((line) => this.logLine(line), work);
    connection.onRequest(host.helloRequest, (params) => {
      // Its connection closed before its hello was read (a window that stopped at once): it must
      // not count, nor cancel the grace that ends a host nobody uses.
      if (!this.clients.has(client)) return r.snapshot();
      this.configure(client, params);
      client.pid = params.clientPid;
      this.greeted = true;
      // Only a window that said hello keeps the host; a peek at its state (engine/local/attachHost.ts) does not.
      this.clearGrace();
      this.logLine(`Window server ${params.clientPid} attached (${this.windows()} now).`);
      return r.attached(client);
    });
    connection.onRequest(host.watchRequest, (params) => {
      if (!this.clients.has(client)) return r.snapshot();
      client.watching = true;
      // A watcher wants a standby by asking for it; a configure may take that back.
      client.standby = true;
      this.greeted = true;
      this.clearGrace();
      this.logLine(`Window server ${params.clientPid} waits in deep sleep on this standby host (${this.watchers()} now).`);
      return r.snapshot();
    });
    connection.onNotification(host.configureNotification, (params) => {
      this.configure(client, params);
      r.configured(client);
    });
    connection.onNotification(host.activityNotification, () => r.activity(client));
    connection.onRequest(host.loadRequest, (params, token) => reply(() => r.loadModel(params, token)));
    connection.onRequest(host.saveStateRequest, (params) => reply(() => r.saveStates(params.capBytes)));
    connection.onRequest(host.unloadRequest, () => reply(() => r.unload()));
    connection.onRequest(host.shutdownRequest, () => reply(() => r.shutdown()));
    connection.onRequest(host.infillRequest, (params, token) => reply(() => r.infill(client, params, token)));
    connection.onRequest(host.prefillRequest, (params, token) => reply(() => r.prefill(client, params, token)));
    connection.onRequest(host.chatPrefillRequest, (params, token) => reply(() => r.chatPrefill(client, params, token)));
    connection.onRequest(host.chatRequest, (params, token) =>
      reply(() =>
        r.chat(client, params, token, (text) => {
          // The answer streams to the window that asked, and to no other.
          void connection.sendNotification(host.chatChunkNotification, { streamId: params.streamId, text }).catch(() => undefined);
        }),
      ),
    );
    connection.onRequest(host.statsRequest, () => reply(() => r.stats()));
    connection.onRequest(host.pingRequest, () => undefined);
  }

  private configure(client: HostClient, params: Omit<host.HelloParams, 'clientPid'>): void {
    client.idleMs = Number.isFinite(params.idleMs) && params.idleMs > 0 ? params.idleMs : 0;
    client.sleepMode = params.sleepMode === 'light' ? 'light' : 'deep';
    client.stateCapBytes = Number.isFinite(params.stateCapBytes) && params.stateCapBytes > 0 ? params.stateCapBytes : 0;
    this.lastCap = client.stateCapBytes;
    client.standby = params.standby === true;
  }

  private detach(client: HostClient): void {
    if (!this.clients.delete(client)) return;
    // Its generations have nobody to answer to.
    for (const controller of client.running) controller.abort();
    if (client.pid !== 0) this.logLine(`Window server ${client.pid} detached (${this.windows()} left).`);
    this.requests.detached(client);
    if (this.windows() === 0 && this.watchers() === 0 && this.graceTimer === null) this.armGrace();
  }

  private armGrace(): void {
    this.clearGrace();
    if (this.options.exiting()) return;
    this.graceTimer = setTimeout(
      () => {
        this.graceTimer = null;
        if (this.windows() > 0 || this.watchers() > 0) return;
        this.logLine('No window uses the model host any more; it exits.');
        this.requests.unused();
      },
      this.greeted ? this.options.graceMs : Math.max(this.options.graceMs, firstWindowMs),
    );
  }

  private clearGrace(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
  }
}
