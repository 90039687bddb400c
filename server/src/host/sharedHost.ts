// The model host shared by every language server of one user that asks for the same model and
// load settings (rendezvous.ts). It serves each attached server through the per-user socket
// (hostClients.ts) and decides the sleep for all of them: the model sleeps when no window has been
// active for the shortest idle time among them (idleWatchdog.ts), a load asked by several windows
// at once is one load (sharedLoad.ts), and Sleep Now from one is a sleep for all (hostSleep.ts).
// All windows share the one completion sequence: the window the user is in goes first
// (priorityWork.ts), and the engine keeps each window's completion state across a switch, so that
// A, B, A does not evaluate A's prompt again. Every change of the shared state is sent to every
// client, so each window's gate can follow it.
import type { CancellationToken } from 'vscode-jsonrpc/node';
import { abortSignalOf } from '../shared/cancellation';
import { systemClock, type Clock } from '../shared/clock';
import { EngineError } from './engineError';
import { HostClients, type HostClient, type HostRequests } from './hostClients';
import { HostSleep } from './hostSleep';
import { IdleWatchdog } from './idleWatchdog';
import type { LlamaEngine } from './llama/llamaEngine';
import { emptyModelStatus } from './modelStatus';
import { PriorityWork } from './priorityWork';
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
import { hostKey, type HostIdentity, type RendezvousPaths } from '../shared/rendezvous';
import { SharedLoad } from './sharedLoad';

export interface SharedHostOptions {
  engine: LlamaEngine;
  identity: HostIdentity;
  paths: RendezvousPaths;
  /** How long the host waits for a new client after the last one left (or none came) before it exits. */
  graceMs: number;
  /** Whose completion work goes first (completionPriority.ts); false: first come, first served (the benchmark's baseline). Default true. */
  priority?: boolean;
  /** Whether each window's completion state is kept across a switch to another window (sequenceStateStore.ts); false: the benchmark's baseline. Default true. */
  windowStates?: boolean;
  /** Started as the standby of a deep sleep (standby.ts): it ends as soon as a window turns the standby off, until it loads. */
  standby?: boolean;
  /** A load begins (the standby stops warming the model file) and is done (the wake's breakdown is logged). */
  onLoadStart?(): void;
  onLoaded?(): void;
  /** The idle watchdog's and the priority's time; the system's by default. */
  clock?: Clock;
  log(line: string): void;
}

export class SharedHost implements HostRequests {
  private readonly engine: LlamaEngine;
  private readonly status = emptyModelStatus();
  private readonly clients: HostClients;
  private readonly watchdog: IdleWatchdog;
  private readonly load: SharedLoad;
  private readonly work: PriorityWork;
  private readonly sleeper: HostSleep;

  constructor(private readonly options: SharedHostOptions) {
    const clock = options.clock ?? systemClock;
    const { engine } = options;
    this.engine = engine;
    const { identity, paths, graceMs, log } = options;
    this.clients = new HostClients({ identity, paths, graceMs, log, exiting: () => this.sleeper.exiting }, this);
    this.watchdog = new IdleWatchdog({
      clock,
      idleTimes: () => this.clients.idleTimes(),
      armed: () => this.status.state === 'ready' && !this.sleeper.sleeping,
      onIdle: (idleMs) => this.onIdle(idleMs),
    });
    this.load = new SharedLoad(engine, this.status, {
      changed: () => this.broadcast(),
      loaded: () => {
        this.options.onLoaded?.();
        this.watchdog.touch();
        this.broadcast();
      },
    });
    this.work = new PriorityWork({
      engine,
      clock,
      priority: options.priority ?? true,
      windowStates: options.windowStates ?? true,
      stateCap: () => this.clients.stateCap(),
      ready: () => this.status.state === 'ready' && !this.sleeper.exiting,
      generate: (client, controller, token, run) => this.generate(client, controller, token, run),
    });
    this.sleeper = new HostSleep({
      engine,
      clients: this.clients,
      watchdog: this.watchdog,
      load: this.load,
      status: this.status,
      broadcast: () => this.broadcast(),
    });
  }

  /** Takes the lock and listens (hostClients.ts); false when another live host of this identity has it. */
  listen(): Promise<boolean> {
    return this.clients.listen();
  }

  /** A line for the host's own log and for every attached window's. */
  logLine(line: string): void {
    this.clients.logLine(line);
  }

  snapshot(): host.SharedHostState {
    const { state, byUser, deep, loads, baselineRssBytes, sleepRssBytes } = this.status;
    return {
      state,
      byUser,
      deep,
      clients: this.clients.windows(),
      loads,
      idleMsLeft: this.watchdog.msLeft(),
      hostPid: process.pid,
      baselineRssBytes,
      sleepRssBytes,
    };
  }

  // ---- what the clients ask (hostClients.ts routes each message here) -----------------------

  attached(): host.SharedHostState {
    this.watchdog.touch();
    this.broadcast();
    return this.snapshot();
  }

  configured(): void {
    this.watchdog.rearm();
    this.broadcast();
    if (this.clients.standbyRefused()) this.endStandby('A window turned the standby off: the standby host exits.');
  }

  /** Ends a standby host (standby.ts) that no window has attached to or loaded with; a host in use stays. */
  endStandby(reason: string): void {
    const { state, loads } = this.status;
    if (!this.options.standby || loads > 0 || state !== 'empty' || this.clients.windows() > 0 || this.sleeper.exiting) return;
    this.logLine(reason);
    void this.sleeper.sleep({ byUser: true, deep: true, save: false });
  }

  activity(client: HostClient): void {
    this.work.activity(client);
    this.watchdog.touch();
    this.broadcast();
  }

  detached(client: HostClient): void {
    this.work.forget(client);
    void this.engine.forgetOwner(client.owner).catch(() => undefined);
    this.watchdog.rearm();
    this.broadcast();
  }

  /**
   * Loads the model once for everybody: a loaded model is answered at once, a load under way is
   * joined (sharedLoad.ts).
   */
  async loadModel(params: LoadParams, token: CancellationToken): Promise<LoadResult> {
    const { identity } = this.options;
    if (hostKey(params) !== hostKey(identity)) {
      throw new EngineError(`This model host serves ${identity.modelPath} with other settings; the server asked the wrong host.`);
    }
    if (this.sleeper.sleeping) await this.sleeper.sleeping;
    if (this.sleeper.exiting) throw new EngineError('The model host is going to sleep (deep); the next request starts a new one.');
    if (this.status.state === 'ready' && this.status.loaded) return this.status.loaded;
    this.options.onLoadStart?.();
    return this.load.join(params, abortSignalOf(token));
  }

  saveStates(capBytes: number): Promise<SaveStateResult> {
    return this.engine.saveStates(capBytes);
  }

  async unload(): Promise<HostStats> {
    await this.sleeper.sleep({ byUser: true, deep: false, save: false });
    return this.engine.stats();
  }

  shutdown(): Promise<void> {
    return this.sleeper.sleep({ byUser: true, deep: true, save: false });
  }

  infill(client: HostClient, params: InfillParams, token: CancellationToken): Promise<GenerationResult> {
    return this.work.infill(client, token, params);
  }

  prefill(client: HostClient, params: PrefillParams, token: CancellationToken): Promise<PrefillResult> {
    return this.work.prefill(client, token, params);
  }

  chatPrefill(client: HostClient, params: ChatTurnParams, token: CancellationToken): Promise<PrefillResult> {
    return this.work.chatPrefill(client, token, (signal) =>
      this.engine.chatPrefill({ messages: params.messages, maxTokens: params.maxTokens }, signal, this.work.keptStateBytes()),
    );
  }

  chat(
    client: HostClient,
    params: host.ChatGenerateParams,
    token: CancellationToken,
    onChunk: (text: string) => void,
  ): Promise<GenerationResult> {
    return this.work.chat(client, token, (signal) =>
      this.engine.chat({ messages: params.messages, maxTokens: params.maxTokens }, onChunk, signal, this.work.keptStateBytes()),
    );
  }

  stats(): Promise<HostStats> {
    return this.engine.stats();
  }

  unused(): void {
    void this.sleeper.sleep({ byUser: false, deep: true, save: true });
  }

  // ---- the host's own --------------------------------------------------------------------

  private broadcast(): void {
    this.clients.broadcast(this.snapshot());
  }

  /**
   * One generation of one client, aborted by `controller`. A request that finds the model asleep
   * (a window that had not yet heard of the sleep) wakes it with the last load's settings.
   */
  private async generate<T>(
    client: HostClient,
    controller: AbortController,
    token: CancellationToken,
    run: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    client.running.add(controller);
    this.watchdog.workStarted();
    try {
      const { state, lastParams } = this.status;
      if (state !== 'ready' && lastParams && !this.sleeper.exiting) await this.loadModel(lastParams, token);
      return await run(controller.signal);
    } finally {
      client.running.delete(controller);
      this.watchdog.workEnded();
    }
  }

  private onIdle(idleMs: number): void {
    const deep = this.clients.anyDeep();
    this.logLine(`No window has been active for ${Math.round(idleMs / 1000)} s: the model sleeps (${deep ? 'deep' : 'light'}).`);
    void this.sleeper.sleep({ byUser: false, deep, save: true });
  }
}
