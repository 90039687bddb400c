// Drives the engine (engine/engine.ts: the local model host or a model server) on behalf of the
// gate: loads, unloads per sleep mode, survives host crashes (falling back to the CPU after a GPU
// crash), remembers what was loaded so status can be answered while asleep (and without waiting
// on the host while awake), and owns every counter the status reports. Every host call has a
// deadline (hostProcess.ts); a host that misses one counts as crashed.
import * as os from 'node:os';
import { isRemoteModelRef } from '../shared/modelRef';
import type {
  Backend,
  CompletionCounters,
  Counters,
  EngineStatus,
  ModelInfo,
  ModelState,
  SleepFreed,
  TokenFigures,
} from '../shared/protocol';
import { isRemoteEngine, type Settings } from '../shared/settings';
import type { DriverCall, GateDriver } from './gate';
import type {
  ChatGenerateParams,
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  PrefillParams,
  PrefillResult,
} from '../host/protocol';
import { defaultCheckTimeoutMs } from '../models/gguf';
import { defaultHostDeadlines, type HostDeadlines, type HostProcess } from '../host/hostProcess';
import { SharedMirror } from '../host/sharedMirror';
import { NoFimError, type Engine, type EngineExit } from '../engine/engine';
import { EngineFactory, engineMatches, type RemoteEngineHooks } from '../engine/create';
import { LocalEngine } from '../engine/local';
import { readProcessRss } from '../host/memory';
import { errorMessage, ModelLeftError } from '../shared/errors';

export interface ModelDriverOptions {
  hostPath: string;
  log(line: string): void;
  settings(): Settings;
  /** Turns the model setting into a local, checked file path (may download). */
  resolveModelPath(setting: string, signal: AbortSignal): Promise<string>;
  /**
   * The host died when nobody asked it to, holding the model (or loading it). `restart`: it
   * crashed on its own (a host that hung was killed by us: false), so the gate may start it
   * again at once.
   */
  onCrash(message: string, restart: boolean): void;
  onChange(): void;
  /** The folder where the sequences' state is kept across sleep (sequenceState.ts). */
  stateDir?(): string;
  /** Host deadlines other than the defaults (tests). */
  hostDeadlines?: Partial<HostDeadlines>;
  /** What an engine on a model server needs (`localLlm.engine` set to a URL). */
  remote?: RemoteEngineHooks;
  /** The shared host went to sleep (for every window) or became ready: the gate follows it. */
  onSharedSleep?(byUser: boolean): void;
  onSharedReady?(): void;
  /** Awaited just before each load is sent to the host (tests: LOCAL_LLM_TEST_LOAD_GATE, server.ts). */
  beforeHostLoad?(): Promise<void>;
}

/** How long a deep sleep waits for the host to exit by itself before it is killed. */
const shutdownMs = 5000;
/** Room on top of the host's own deadlines before the gate stops waiting on a step. */
const stepMarginMs = 30_000;

export class ModelDriver implements GateDriver {
  private host: Engine | null = null;
  private readonly engines: EngineFactory;
  private loaded = false;
  private lastInfo: ModelInfo | null = null;
  private forceCpu = false;
  private lastStats: HostStats | null = null;
  private loadAbort: AbortController | null = null;
  private statsInFlight = false;
  private readonly deadlines: HostDeadlines;
  notice: string | null = null;
  lastSleepFreed: SleepFreed | null = null;
  hostBaselineRssBytes: number | null = null;
  readonly counters: Counters = { loads: 0, sleeps: 0, wakes: 0, hostCrashes: 0, lastLoadMs: null, lastWakeMs: null };
  /** Written by the inline completion feature; reported with the rest. */
  readonly completions: CompletionCounters = { requests: 0, generated: 0, cacheHits: 0, superseded: 0, prefetched: 0 };
  /** The last completion and chat turn that ran on the model; kept across sleep. */
  lastCompletion: TokenFigures | null = null;
  lastChat: TokenFigures | null = null;
  /** Context chunks in the last completion's prompt (written by the completion feature). */
  contextChunks = 0;
  /** Epoch ms when the model last went to sleep; null while it is not asleep. */
  asleepSince: number | null = null;
  private previousState: ModelState | null = null;
  private wakeStarted: number | null = null;
  /** The shared host's side of things: identity, state for status, activity, mirrored sleeps. */
  readonly shared: SharedMirror;

  constructor(private readonly options: ModelDriverOptions) {
    this.deadlines = { ...defaultHostDeadlines, ...options.hostDeadlines };
    this.engines = new EngineFactory({
      host: { hostPath: options.hostPath, log: (line) => options.log(`[host] ${line}`), deadlines: options.hostDeadlines },
      settings: options.settings,
      log: options.log,
      onChange: options.onChange,
      remote: options.remote,
    });
    this.shared = new SharedMirror({
      settings: options.settings,
      onSleep: (byUser) => options.onSharedSleep?.(byUser),
      onReady: () => options.onSharedReady?.(),
      onChange: options.onChange,
    });
  }

  /** What runs the model, for status: the local host, or a server and what it said last. */
  engineStatus(): EngineStatus {
    const view = this.host?.remote() ?? this.engines.remoteSession?.view ?? null;
    if (!view) return { kind: 'local', url: null, server: null, error: null, canSleep: true };
    return { ...view };
  }

  /** Sleep Now on a server that sleeps on its own: the sentence that says so; null otherwise. */
  sleepNowNote(): string | null {
    const status = this.engineStatus();
    if (status.kind === 'local' || status.canSleep || status.url === null) return null;
    const host = new URL(status.url).host;
    return status.kind === 'llama-server'
      ? `The model on ${host} sleeps on its own after the server's --sleep-idle-seconds; Sleep Now only stops this window from using it (unloading it from here needs router mode and localLlm.remote.controlSleep).`
      : `The model on ${host} sleeps on its own; Sleep Now only stops this window from using it (unloading it from here needs localLlm.remote.controlSleep).`;
  }

  /** What was loaded last; kept across sleep for status. */
  get info(): ModelInfo | null {
    return this.lastInfo;
  }

  get hostPid(): number | null {
    return this.host?.pid ?? null;
  }

  /** Counts sleeps and wakes from the gate's state changes, timing each wake. */
  observe(state: ModelState, now: number): void {
    const previous = this.previousState;
    if (state === previous) return;
    if (state === 'sleeping' && previous !== null) {
      this.counters.sleeps++;
      this.asleepSince = now;
    }
    if (state === 'waking') this.wakeStarted = now;
    if (state === 'ready' && previous === 'waking' && this.wakeStarted !== null) {
      this.counters.wakes++;
      this.counters.lastWakeMs = now - this.wakeStarted;
      this.wakeStarted = null;
    }
    if (state !== 'sleeping') this.asleepSince = null;
    this.previousState = state;
  }

  hostRssBytes(): number | null {
    const pid = this.hostPid;
    return pid === null ? null : readProcessRss(pid);
  }

  vram(): { used: number | null; total: number | null } {
    if (!this.host || !this.lastStats) return { used: null, total: null };
    return { used: this.lastStats.vramUsedBytes, total: this.lastStats.vramTotalBytes };
  }

  async load(): Promise<void> {
    const settings = this.options.settings();
    const started = Date.now();
    const abort = (this.loadAbort = new AbortController());
    const { signal } = abort;
    try {
      const remote = isRemoteEngine(settings);
      // An engine kept through a light sleep may be for an engine setting that has changed since.
      if (this.host && !engineMatches(this.host, settings)) await this.dropHost(this.host);
      const path = remote ? settings.engine : await this.options.resolveModelPath(settings.model, signal);
      if (signal.aborted) throw new Error(`Loading ${path} was cancelled.`);
      const params: LoadParams = {
        modelPath: path,
        gpu: this.forceCpu ? 'cpu' : settings.gpu,
        gpuLayers: this.forceCpu ? 0 : settings.gpuLayers,
        contextSize: settings.contextSize,
        threads: settings.threads > 0 ? settings.threads : os.availableParallelism(),
        stateDir: settings.stateCacheMB > 0 ? (this.options.stateDir?.() ?? null) : null,
      };
      // A shared host serves one identity: other settings are another host.
      const current = processOf(this.host);
      if (this.host && current && !this.shared.serves(current, params)) await this.dropHost(this.host);
      let host = this.host;
      if (!host) {
        host = this.spawn(params);
        this.hostBaselineRssBytes = remote ? null : await this.firstAnswer(host, signal, path);
      }
      await this.options.beforeHostLoad?.();
      let result;
      for (let attempt = 1; ; attempt++) {
        try {
          result = await host.load(params, signal);
          break;
        } catch (err) {
          // What a cancelled load left in the host is unknown (the host may not even have seen the
          // cancel): a new host serves the next load.
          if (signal.aborted) await this.dropHost(host);
          const leaving = processOf(host);
          if (signal.aborted || attempt > 1 || !leaving || !leavingInDeepSleep(leaving)) throw err;
          // The wake met a shared host on its way out in a deep sleep (it refused the load, or
          // ended under it): once it is gone, a new host serves this wake.
          this.options.log('The model host was going to sleep (deep) as this window woke it; a new one is started.');
          await this.shared.leaveSleepingHost(leaving);
          if (this.host === host) this.host = null;
          if (signal.aborted) throw new Error(`Loading ${path} was cancelled.`, { cause: err });
          host = this.spawn(params);
          this.hostBaselineRssBytes = await this.firstAnswer(host, signal, path);
        }
      }
      if (signal.aborted) {
        await this.dropHost(host);
        throw new Error(`Loading ${path} was cancelled.`);
      }
      this.loaded = true;
      this.shared.loaded();
      // A shared host that was still empty at the attach has its own figure now: the same one, taken by the host.
      this.hostBaselineRssBytes = processOf(host)?.sharedState?.baselineRssBytes ?? this.hostBaselineRssBytes;
      const { fallbackReason, ...info } = result;
      this.lastInfo = { ...info, path };
      if (fallbackReason) this.notice = fallbackReason;
      else if (!this.forceCpu) this.notice = null;
      if (!result.hasFim) {
        this.notice = `${result.name} has no fill-in-the-middle tokens, so inline completions are off; chat works.`;
      }
      this.counters.loads++;
      const loadMs = (this.counters.lastLoadMs = Date.now() - started);
      this.lastStats = await host.stats().catch(() => null);
      if (!remote) {
        this.options.log(
          `Loaded ${result.name} on ${result.backend} (${result.gpuLayers}/${result.totalLayers} layers on the GPU) in ${loadMs} ms.`,
        );
      }
    } finally {
      if (this.loadAbort === abort) this.loadAbort = null;
      this.options.onChange();
    }
  }

  async unload(): Promise<void> {
    const host = this.host;
    const before = this.memorySample();
    this.loaded = false;
    if (!host) return;
    const deep = this.options.settings().sleepMode === 'deep';
    // A deep-sleeping host is on its way out: status shows none while it saves its state.
    if (deep) this.host = null;
    // The shared host decided this sleep itself (or another window asked for it): it frees the model alone.
    const process = processOf(host);
    if (process && this.shared.followingSleep(process)) {
      if (process.sharedState?.deep) await this.shared.leaveSleepingHost(process);
      // A light shared sleep keeps the host, whatever this window's own mode.
      else if (deep && !host.exit) this.host = host;
      this.lastStats = null;
    } else
      await this.shared.ownSleepOf(async () => {
        await this.saveState(host);
        if (deep) {
          await host.shutdown(shutdownMs);
          this.lastStats = null;
        } else {
          try {
            this.lastStats = await host.unload();
          } catch (err) {
            // A host that died or hung (and was killed for it) freed the model all the same.
            if (!host.exit) throw err;
            this.lastStats = null;
          }
        }
      });
    const after = this.memorySample();
    // A shared host measured the sleep itself: a window that only followed it came too late to.
    const hostFreed = process ? await this.shared.sleepFreedRss(process) : null;
    this.lastSleepFreed = {
      rssBytes: hostFreed ?? Math.max(0, before.rss - after.rss),
      vramBytes: before.vram === null ? null : Math.max(0, before.vram - (after.vram ?? 0)),
    };
    this.options.onChange();
  }

  /** Cancel a load that is still resolving, downloading, checking or loading the model. */
  abortLoad(): void {
    this.loadAbort?.abort();
  }

  /**
   * The gate's bound on a step: the host's own deadlines plus a margin. A remote model may be
   * downloading, which has its own no-progress timeout and may rightly take long: no bound.
   */
  stepTimeoutMs(kind: DriverCall): number | null {
    if (kind === 'unload') return this.deadlines.unloadMs + Math.max(this.deadlines.unloadMs, shutdownMs) + stepMarginMs;
    // A server: each request has its own deadline, and plain http waits on the user's answer.
    if (isRemoteEngine(this.options.settings())) return null;
    // An empty setting means the recommended preset, which is downloaded too.
    const model = this.options.settings().model;
    if (model.trim() === '' || isRemoteModelRef(model)) return null;
    return defaultCheckTimeoutMs + this.deadlines.statsMs + this.deadlines.loadMs + stepMarginMs;
  }

  /** The gate gave up on a step: stop the load and end the host, so the step settles at once. */
  abandon(kind: DriverCall): void {
    this.options.log(`The model ${kind === 'load' ? 'load' : 'unload'} took too long; the model host is stopped.`);
    if (kind === 'load') this.abortLoad();
    const host = this.host;
    if (host) void this.dropHost(host);
  }

  /** `background`: nobody sees this one (the next suggestion), so it is not the last completion's figures. */
  async infill(params: InfillParams, signal: AbortSignal, options: { background?: boolean } = {}): Promise<GenerationResult> {
    const host = this.requireHost();
    let result: GenerationResult;
    try {
      result = await leftAsModelLeft(host, signal, () => host.infill(params, signal));
    } catch (err) {
      // A server whose model turned out to have no FIM tokens: completions off until the next load.
      if (err instanceof NoFimError && this.lastInfo?.hasFim) {
        this.lastInfo = { ...this.lastInfo, hasFim: false };
        this.notice = errorMessage(err);
        this.options.onChange();
      }
      throw err;
    }
    // A request cancelled before it ran evaluated nothing and says nothing about reuse.
    if (result.figures.promptTokens > 0 && !options.background) {
      this.lastCompletion = result.figures;
      this.contextChunks = result.contextChunks ?? 0;
    }
    return result;
  }

  /** Evaluates a completion prompt without generating, in the background (the context ring, the next suggestion). */
  prefill(params: PrefillParams, signal: AbortSignal): Promise<PrefillResult> {
    const host = this.requireHost();
    return leftAsModelLeft(host, signal, () => host.prefill(params, signal));
  }

  async chat(
    params: Omit<ChatGenerateParams, 'streamId'>,
    onChunk: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    const host = this.requireHost();
    const result = await leftAsModelLeft(host, signal, () => host.chat(params, onChunk, signal));
    if (result.figures.promptTokens > 0) this.lastChat = result.figures;
    return result;
  }

  /**
   * Asks the host for fresh numbers (VRAM in particular) in the background; status answers from
   * the last ones at once, so a host that is busy, stopped or hung never holds it. One at a time.
   */
  refreshStats(): void {
    const host = this.host;
    if (!host || this.statsInFlight) return;
    this.statsInFlight = true;
    host
      .stats()
      .then((stats) => {
        if (this.host === host) this.lastStats = stats;
      })
      .catch(() => undefined)
      .finally(() => (this.statsInFlight = false));
  }

  async dispose(): Promise<void> {
    const host = this.host;
    this.host = null;
    this.loaded = false;
    this.shared.dispose();
    // A shared host stays for the other windows.
    await host?.detach(3000);
  }

  /** Lets the host save its sequences' state before it sleeps; a failure costs the reuse, never the sleep. */
  private async saveState(host: Engine): Promise<void> {
    const capMB = this.options.settings().stateCacheMB;
    if (capMB <= 0 || !this.options.stateDir) return;
    try {
      const { saved } = await host.saveState({ capBytes: capMB * 1024 * 1024 });
      if (saved.length > 0) {
        this.options.log(`Kept across sleep: ${saved.map((s) => `${s.kind} ${s.tokens} tokens (${s.bytes} bytes)`).join(', ')}.`);
      }
    } catch (err) {
      this.options.log(`The model state was not saved before sleep (${errorMessage(err)}); after the wake it is evaluated again.`);
    }
  }

  /**
   * The host's RSS before it loaded the model (this also waits for a new host to answer). A shared
   * host that already holds the model, or is loading it for another window, says what its RSS
   * was before its first load; measured now, the model would count as the baseline.
   */
  private async baselineOf(host: Engine): Promise<number> {
    const { rssBytes } = await host.stats();
    return processOf(host)?.sharedState?.baselineRssBytes ?? rssBytes;
  }

  /**
   * baselineOf for a host this load started: a cancel or a new setting ends the wait (a host that
   * hangs before its hello would hold it up to its start deadline) and the host with it (#24).
   */
  private async firstAnswer(host: Engine, signal: AbortSignal, path: string): Promise<number> {
    const drop = (): void => void this.dropHost(host);
    if (signal.aborted) drop();
    else signal.addEventListener('abort', drop, { once: true });
    try {
      return await this.baselineOf(host);
    } catch (err) {
      if (signal.aborted) throw new Error(`Loading ${path} was cancelled.`, { cause: err });
      throw err;
    } finally {
      signal.removeEventListener('abort', drop);
    }
  }

  private requireHost(): Engine {
    if (!this.host || !this.loaded) throw new Error('The model is not loaded.');
    return this.host;
  }

  private memorySample(): { rss: number; vram: number | null } {
    return { rss: this.hostRssBytes() ?? 0, vram: this.lastStats?.vramUsedBytes ?? null };
  }

  /** Ends a host the driver no longer trusts, as an expected exit. */
  private async dropHost(host: Engine): Promise<void> {
    if (this.host === host) {
      this.host = null;
      this.loaded = false;
      this.lastStats = null;
    }
    await host.kill();
  }

  private spawn(params: LoadParams): Engine {
    const local = !isRemoteEngine(this.options.settings());
    const host = this.engines.create(local ? this.shared.hostOptions(params) : undefined);
    host.onExit((exit) => this.onHostExit(host, exit));
    const process = processOf(host);
    if (process) this.shared.follow(process, params);
    this.host = host;

    return host;
  }

  private onHostExit(host: Engine, exit: EngineExit): void {
    if (this.host !== host) return;
    const modelInUse = this.loaded || this.loadAbort !== null;
    this.host = null;
    this.loaded = false;
    this.lastStats = null;
    if (exit.expected) return;
    this.counters.hostCrashes++;
    if (!modelInUse) {
      // A light-sleeping host held no model: the model still sleeps, and the next wake starts a new host.
      this.options.log(`${exit.message} It held no model (light sleep); the next wake starts a new one.`);
      this.options.onChange();
      return;
    }
    const backend: Backend | null = this.lastInfo?.backend ?? null;
    let message = exit.message;
    // A host that hung was killed by us; that says nothing about the GPU backend.
    if (backend && backend !== 'cpu' && !this.forceCpu && !exit.hung) {
      this.forceCpu = true;
      this.notice = `The ${backend.toUpperCase()} backend crashed, so the model will run on the CPU from now on.`;
      message += ` The ${backend.toUpperCase()} backend crashed; the next load uses the CPU.`;
    }
    this.options.log(message);
    this.options.onCrash(message, !exit.hung);
  }
}

/** A shared host that announced a deep sleep: it exits, or has exited, as asked. */
function leavingInDeepSleep(process: HostProcess): boolean {
  const state = process.sharedState;
  return process.isShared && state?.state === 'sleeping' && state.deep;
}

/**
 * A generation that failed because its shared host was leaving in a deep sleep (it refused the
 * request, or ended under it) fails as ModelLeftError, which the gate runs again after the wake.
 */
async function leftAsModelLeft<T>(host: Engine, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const process = processOf(host);
    if (!signal.aborted && process && leavingInDeepSleep(process)) throw new ModelLeftError(errorMessage(err), { cause: err });
    throw err;
  }
}

/** The local host's process behind an engine (the shared host follows it); null for a server. */
function processOf(engine: Engine | null): HostProcess | null {
  return engine instanceof LocalEngine ? engine.process : null;
}
