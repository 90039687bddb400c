// Drives the engine (engine/types.ts: the local model host or a model server) on behalf of the
// gate, without asking which one it is: loads, unloads per sleep mode, survives host crashes
// (falling back to the CPU after a GPU crash), remembers what was loaded so status can be answered
// while asleep (and without waiting on the host while awake), and records what the status
// reports in one stats object (stats.ts). Every host call has a deadline (engine/hostDeadlines.ts);
// a host that misses one counts as crashed.
import * as os from 'node:os';
import { isRemoteModelRef } from '../shared/modelRef';
import { noChatTemplateSentence, noFimSentence } from '../shared/modelRoles';
import type { Backend, DraftModelInfo, EngineStatus, ModelInfo, SharingStatus, TokenFigures } from '../shared/protocol';
import { isRemoteEngine, type Settings } from '../shared/settings';
import type { DriverCall, GateDriver, RequestKind } from './gate';
import type { GenerationResult, HostStats, InfillParams, LoadParams, PrefillParams, PrefillResult, ChatTurnParams } from '../engine/types';
import { defaultCheckTimeoutMs } from '../models/gguf';
import { defaultHostDeadlines, type HostDeadlines } from '../engine/hostDeadlines';
import { NoFimError, type Engine, type EngineExit } from '../engine/types';
import { EngineFactory, engineMatches, type RemoteEngineHooks } from '../engine/create';
import { errorMessage, ModelLeftError } from '../shared/errors';
import { ModelStats } from './stats';

export interface ModelDriverOptions {
  hostPath: string;
  log(line: string): void;
  settings(): Settings;
  /** Turns the model setting into a local, checked file path (may download). */
  resolveModelPath(setting: string, signal: AbortSignal): Promise<string>;
  /** The same for the chat model's setting; an empty one means the recommended chat model (#25). */
  resolveChatModelPath(setting: string, signal: AbortSignal): Promise<string>;
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
  /** Awaited just before each load is sent to the host (tests: the loadGateFile hook, server.ts). */
  beforeHostLoad?(): Promise<void>;
}

/** How long a deep sleep waits for the host to exit by itself before it is killed. */
const shutdownMs = 5000;
/** Room on top of the host's own deadlines before the gate stops waiting on a step. */
const stepMarginMs = 30_000;

/** A model server drafts with the draft model it was started with (llama-server's --model-draft), never one sent per request. */
function remoteDraft(setting: string): { path: null; problem: string | null } {
  if (setting === '') return { path: null, problem: null };
  return {
    path: null,
    problem:
      'localLlm.completion.draftModel is for the local model; a model server drafts with its own draft model (llama-server: --model-draft), set where it starts.',
  };
}

export class ModelDriver implements GateDriver {
  private host: Engine | null = null;
  private readonly engines: EngineFactory;
  private loaded = false;
  private lastInfo: ModelInfo | null = null;
  /** #25: the chat model of the last load, when it is not the completion model. */
  private lastChatInfo: ModelInfo | null = null;
  /** The draft model loaded with the model last; kept across sleep for status, as lastInfo. */
  private lastDraft: DraftModelInfo | null = null;
  private forceCpu = false;
  private lastStats: HostStats | null = null;
  private loadAbort: AbortController | null = null;
  private statsInFlight = false;
  private readonly deadlines: HostDeadlines;
  notice: string | null = null;
  private baselineRss: number | null = null;
  /** Every counter and figure the status reports (the completion and chat features record theirs). */
  readonly stats = new ModelStats();

  constructor(private readonly options: ModelDriverOptions) {
    this.deadlines = { ...defaultHostDeadlines, ...options.hostDeadlines };
    this.engines = new EngineFactory({
      host: { hostPath: options.hostPath, log: (line) => options.log(`[host] ${line}`), deadlines: options.hostDeadlines },
      settings: options.settings,
      log: options.log,
      onChange: options.onChange,
      remote: options.remote,
      onSleep: (byUser) => options.onSharedSleep?.(byUser),
      onReady: () => options.onSharedReady?.(),
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

  /** The chat model loaded last when it is not `info` (localLlm.chat.model); null: `info` serves chat. */
  get chatInfo(): ModelInfo | null {
    return this.lastChatInfo;
  }

  /** The draft model loaded beside the model last; null when none. */
  get draftInfo(): DraftModelInfo | null {
    return this.lastDraft;
  }

  get hostPid(): number | null {
    return this.host?.pid ?? null;
  }

  hostRssBytes(): number | null {
    return this.host?.rssBytes() ?? null;
  }

  /** The host's RSS before it loaded the model; null for a server. */
  get hostBaselineRssBytes(): number | null {
    return this.baselineRss;
  }

  /** Editor activity in this window: the engine's own idle time may count it. */
  activity(): void {
    this.engines.activity();
  }

  /** This window's sleep settings changed. */
  configure(): void {
    this.engines.configure();
  }

  /** Until the engine's own idle sleep (a shared host's, over every window); null when none is due. */
  idleMsLeft(): number | null {
    return this.engines.idleMsLeft();
  }

  /** The RSS of the standby host kept in deep sleep; null when none is. */
  standbyRssBytes(): number | null {
    return this.engines.standbyRssBytes();
  }

  /** Who else uses the model, for status; null when nothing is known. */
  sharing(): SharingStatus | null {
    return this.engines.sharing();
  }

  vram(): { used: number | null; total: number | null } {
    if (!this.host || !this.lastStats) return { used: null, total: null };
    return { used: this.lastStats.vramUsedBytes, total: this.lastStats.vramTotalBytes };
  }

  async load(first?: RequestKind): Promise<void> {
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
      // #25: the chat model, resolved the same way; the same file is one model for both.
      const chatSetting = remote ? '' : settings.chat.model;
      // Both settings empty: the recommended chat model (the pair's Instruct model where two fit, else the same one).
      const chatPath =
        remote || (chatSetting === '' && settings.model !== '') ? null : await this.options.resolveChatModelPath(chatSetting, signal);
      if (signal.aborted) throw new Error(`Loading ${chatPath ?? path} was cancelled.`);
      const draft = remote ? remoteDraft(settings.completion.draftModel) : await this.resolveDraft(settings.completion.draftModel, signal);
      const params: LoadParams = {
        modelPath: path,
        gpu: this.forceCpu ? 'cpu' : settings.gpu,
        gpuLayers: this.forceCpu ? 0 : settings.gpuLayers,
        contextSize: settings.contextSize,
        threads: settings.threads > 0 ? settings.threads : os.availableParallelism(),
        stateDir: settings.stateCacheMB > 0 ? (this.options.stateDir?.() ?? null) : null,
        lookup: settings.completion.lookup,
        ...(chatPath !== null && chatPath !== path ? { chatModelPath: chatPath, first: first ?? 'completion' } : {}),
        ...(draft.path !== null ? { draftModelPath: draft.path } : {}),
      };
      // An engine serves one set of load settings (a shared host, one identity): others are another engine.
      if (this.host && !this.host.serves(params)) await this.dropHost(this.host);
      let host = this.host;
      if (!host) {
        host = this.spawn(params);
        this.baselineRss = remote ? null : await this.firstAnswer(host, signal, path);
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
          if (signal.aborted || attempt > 1 || !(err instanceof ModelLeftError)) throw err;
          // The wake met the engine on its way out in a sleep decided elsewhere: a new one serves it.
          this.options.log('The model host was going to sleep (deep) as this window woke it; a new one is started.');
          if (this.host === host) this.host = null;
          host = this.spawn(params);
          this.baselineRss = await this.firstAnswer(host, signal, path);
        }
      }
      if (signal.aborted) {
        await this.dropHost(host);
        throw new Error(`Loading ${path} was cancelled.`);
      }
      this.loaded = true;
      // A shared host that was still empty at the attach has its own figure now: the same one, taken by the host.
      this.baselineRss = host.baselineRssBytes() ?? this.baselineRss;
      const { fallbackReason, chatModel, draftModel, draftRefusal, ...info } = result;
      this.lastInfo = { ...info, path };
      this.lastDraft = draftModel ?? null;
      this.lastChatInfo = chatModel && params.chatModelPath ? { ...chatModel, path: params.chatModelPath } : null;
      // A server that serves several models: chat asks for its own by name (localLlm.remote.chatModel).
      const remoteChat = remote ? settings.remote.chatModel : '';
      if (remoteChat !== '' && remoteChat !== settings.remote.model) {
        this.lastChatInfo = { ...info, name: remoteChat, path, sizeBytes: 0, hasFim: false };
      }
      if (fallbackReason) this.notice = fallbackReason;
      else if (!this.forceCpu) this.notice = null;
      const refusals: string[] = [];
      if (!result.hasFim) refusals.push(noFimSentence(result.name, this.lastChatInfo !== null));
      if (this.lastChatInfo?.hasChatTemplate === false) refusals.push(noChatTemplateSentence(this.lastChatInfo.name));
      if (refusals.length > 0) this.notice = refusals.join(' ');
      // The draft model's problem is said beside whatever else is.
      const draftProblem = draft.problem ?? draftRefusal ?? null;
      if (draftProblem !== null) this.notice = this.notice === null ? draftProblem : `${this.notice} ${draftProblem}`;
      const loadMs = Date.now() - started;
      this.stats.loaded(loadMs);
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

  /** The draft model setting as a checked local file; one that cannot be had is a sentence, and the model loads without it. */
  private async resolveDraft(setting: string, signal: AbortSignal): Promise<{ path: string | null; problem: string | null }> {
    if (setting === '') return { path: null, problem: null };
    try {
      return { path: await this.options.resolveModelPath(setting, signal), problem: null };
    } catch (err) {
      if (signal.aborted) throw err;
      const problem = `The draft model ${setting} is not used (${errorMessage(err).replace(/[.\s]+$/, '')}); completions are served without it.`;
      this.options.log(problem);
      return { path: null, problem };
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
    const slept = await host.sleep({ deep, shutdownMs, save: () => this.saveState(host) });
    // The engine followed a light sleep of a shared host: it is kept, whatever this window's own mode.
    if (deep && slept.kept) this.host = host;
    this.lastStats = slept.stats;
    const after = this.memorySample();
    // A shared host measured the sleep itself: a window that only followed it came too late to.
    const hostFreed = await host.sleepFreedRss();
    this.stats.slept({
      rssBytes: hostFreed ?? Math.max(0, before.rss - after.rss),
      vramBytes: before.vram === null ? null : Math.max(0, before.vram - (after.vram ?? 0)),
    });
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
    const { model, chat } = this.options.settings();
    if (model.trim() === '' || isRemoteModelRef(model) || isRemoteModelRef(chat.model)) return null;
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
      result = await host.infill(params, signal);
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
      this.stats.completionRan(this.named(result.figures, this.lastInfo), result.contextChunks ?? 0);
    }
    return result;
  }

  /** Evaluates a completion prompt without generating, in the background (the context ring, the next suggestion). */
  prefill(params: PrefillParams, signal: AbortSignal): Promise<PrefillResult> {
    return this.requireHost().prefill(params, signal);
  }

  /** Evaluates a chat draft's prompt ahead (ChatFeature's prefill); null where the engine evaluates nothing ahead. */
  chatPrefill(params: ChatTurnParams, signal: AbortSignal): Promise<PrefillResult | null> {
    const host = this.requireHost();
    if (this.lastChatInfo?.hasChatTemplate === false) return Promise.resolve(null);
    return host.chatPrefill(params, signal);
  }

  async chat(params: ChatTurnParams, onChunk: (text: string) => void, signal: AbortSignal): Promise<GenerationResult> {
    const host = this.requireHost();
    const chatModel = this.lastChatInfo ?? this.lastInfo;
    // A chat model of its own without a chat template is refused before it reaches the engine.
    if (this.lastChatInfo?.hasChatTemplate === false) throw new Error(noChatTemplateSentence(this.lastChatInfo.name));
    const result = await host.chat(params, onChunk, signal);
    if (result.figures.promptTokens > 0) this.stats.chatRan(this.named(result.figures, chatModel));
    return result;
  }

  /** #25: figures say which model made them. */
  private named(figures: TokenFigures, model: ModelInfo | null): TokenFigures {
    return model ? { ...figures, model: model.name } : figures;
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
    this.engines.dispose();
    // A shared host stays for the other windows.
    await host?.detach();
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
    return host.baselineRssBytes() ?? rssBytes;
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
    const host = this.engines.create(params);
    host.onExit((exit) => this.onHostExit(host, exit));
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
    this.stats.engineCrashed();
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
