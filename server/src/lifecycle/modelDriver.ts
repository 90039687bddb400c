// Drives the model host on behalf of the gate: loads, unloads per sleep mode, survives host
// crashes (falling back to the CPU after a GPU crash), remembers what was loaded so status can be
// answered while asleep, and owns every counter the status reports.
import * as os from 'node:os';
import type { Backend, CompletionCounters, Counters, ModelInfo, ModelState, SleepFreed } from '../shared/protocol';
import type { Settings } from '../shared/settings';
import type { GateDriver } from './gate';
import type {
  ChatGenerateParams,
  GenerationResult,
  HostStats,
  InfillParams,
} from '../host/protocol';
import { HostProcess, type HostExit } from '../host/hostProcess';
import { readProcessRss } from '../host/memory';

export interface ModelDriverOptions {
  hostPath: string;
  log(line: string): void;
  settings(): Settings;
  /** Turns the model setting into a local, checked file path (may download). */
  resolveModelPath(setting: string, signal: AbortSignal): Promise<string>;
  /** The host died when nobody asked it to. */
  onCrash(message: string): void;
  onChange(): void;
}

export class ModelDriver implements GateDriver {
  private host: HostProcess | null = null;
  private loaded = false;
  private lastInfo: ModelInfo | null = null;
  private forceCpu = false;
  private lastStats: HostStats | null = null;
  private loadAbort: AbortController | null = null;
  notice: string | null = null;
  lastSleepFreed: SleepFreed | null = null;
  hostBaselineRssBytes: number | null = null;
  readonly counters: Counters = { loads: 0, sleeps: 0, wakes: 0, hostCrashes: 0, lastLoadMs: null, lastWakeMs: null };
  /** Written by the inline completion feature; reported with the rest. */
  readonly completions: CompletionCounters = { requests: 0, generated: 0, cacheHits: 0, superseded: 0 };
  /** Epoch ms when the model last went to sleep; null while it is not asleep. */
  asleepSince: number | null = null;
  private previousState: ModelState | null = null;
  private wakeStarted: number | null = null;

  constructor(private readonly options: ModelDriverOptions) {}

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
    this.loadAbort = new AbortController();
    try {
      const path = await this.options.resolveModelPath(settings.model, this.loadAbort.signal);
      let host = this.host;
      if (!host) {
        host = this.spawn();
        this.hostBaselineRssBytes = (await host.stats()).rssBytes;
      }
      const result = await host.load({
        modelPath: path,
        gpu: this.forceCpu ? 'cpu' : settings.gpu,
        gpuLayers: this.forceCpu ? 0 : settings.gpuLayers,
        contextSize: settings.contextSize,
        threads: settings.threads > 0 ? settings.threads : os.availableParallelism(),
      });
      this.loaded = true;
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
      this.options.log(
        `Loaded ${result.name} on ${result.backend} (${result.gpuLayers}/${result.totalLayers} layers on the GPU) in ${loadMs} ms.`,
      );
    } finally {
      this.loadAbort = null;
      this.options.onChange();
    }
  }

  async unload(): Promise<void> {
    const host = this.host;
    const before = this.memorySample();
    this.loaded = false;
    if (!host) return;
    if (this.options.settings().sleepMode === 'deep') {
      this.host = null;
      await host.shutdown(5000);
      this.lastStats = null;
    } else {
      this.lastStats = await host.unload();
    }
    const after = this.memorySample();
    this.lastSleepFreed = {
      rssBytes: Math.max(0, before.rss - after.rss),
      vramBytes: before.vram === null ? null : Math.max(0, before.vram - (after.vram ?? 0)),
    };
    this.options.onChange();
  }

  /** Cancel a load that is still resolving or downloading the model. */
  abortLoad(): void {
    this.loadAbort?.abort();
  }

  infill(params: InfillParams, signal: AbortSignal): Promise<GenerationResult> {
    return this.requireHost().infill(params, signal);
  }

  chat(params: Omit<ChatGenerateParams, 'streamId'>, onChunk: (text: string) => void, signal: AbortSignal): Promise<GenerationResult> {
    return this.requireHost().chat(params, onChunk, signal);
  }

  /** Ask the host for fresh numbers (VRAM in particular); cheap, exempt from the gate. */
  async refreshStats(): Promise<void> {
    if (!this.host) return;
    this.lastStats = await this.host.stats().catch(() => this.lastStats);
  }

  async dispose(): Promise<void> {
    const host = this.host;
    this.host = null;
    this.loaded = false;
    await host?.shutdown(3000);
  }

  private requireHost(): HostProcess {
    if (!this.host || !this.loaded) throw new Error('The model is not loaded.');
    return this.host;
  }

  private memorySample(): { rss: number; vram: number | null } {
    return { rss: this.hostRssBytes() ?? 0, vram: this.lastStats?.vramUsedBytes ?? null };
  }

  private spawn(): HostProcess {
    const host = new HostProcess({ hostPath: this.options.hostPath, log: (line) => this.options.log(`[host] ${line}`) });
    host.onExit((exit) => this.onHostExit(host, exit));
    this.host = host;

    return host;
  }

  private onHostExit(host: HostProcess, exit: HostExit): void {
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
    if (backend && backend !== 'cpu' && !this.forceCpu) {
      this.forceCpu = true;
      this.notice = `The ${backend.toUpperCase()} backend crashed, so the model will run on the CPU from now on.`;
      message += ` The ${backend.toUpperCase()} backend crashed; the next load uses the CPU.`;
    }
    this.options.log(message);
    this.options.onCrash(message);
  }
}
