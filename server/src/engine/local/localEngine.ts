// The local engine: the model host shared by this user's windows (hostProcess.ts), behind the
// engine interface, with the rules that come from sharing it: a host that another window (or the
// idle time of all of them) put to sleep is followed, not put to sleep again; one that was leaving
// in a deep sleep as this window asked it something ends that request as ModelLeftError, so that
// a new host serves it; and memory figures are the host's own, so every window says the same.
import type { Event } from 'vscode-jsonrpc';
import type {
  GenerationResult,
  HostStats,
  InfillParams,
  LoadParams,
  PrefillParams,
  PrefillResult,
  LoadResult,
  SaveStateParams,
  SaveStateResult,
  ChatTurnParams,
} from '../types';
import { errorMessage, ModelLeftError } from '../../shared/errors';
import type { Engine, EngineExit, EngineSleep, RemoteView, SleepParams } from '../types';
import type { HostDeadlines } from '../hostDeadlines';
import { ownSleep } from '../ownSleep';
import { HostProcess } from './hostProcess';
import { identityOf, type SharedHostMirror } from './sharedHostMirror';

export interface LocalEngineOptions {
  /** The bundled host entry, dist/host.js. */
  hostPath: string;
  log?: (line: string) => void;
  deadlines?: Partial<HostDeadlines>;
  env?: NodeJS.ProcessEnv;
  /** The settings this host is for: they make its identity. */
  params: LoadParams;
  /** This window's view of the shared host, which follows this engine's host from now on. */
  mirror: SharedHostMirror;
}

export class LocalEngine implements Engine {
  readonly kind = 'local' as const;
  private readonly process: HostProcess;
  private readonly mirror: SharedHostMirror;

  constructor(options: LocalEngineOptions) {
    const { params, mirror } = options;
    this.process = new HostProcess({
      hostPath: options.hostPath,
      log: options.log,
      deadlines: options.deadlines,
      env: options.env,
      identity: identityOf(params),
      hello: mirror.hello(),
    });
    this.mirror = mirror;
    mirror.follow(this.process, params);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get exit(): EngineExit | null {
    return this.process.exit;
  }

  get onExit(): Event<EngineExit> {
    return this.process.onExit;
  }

  rssBytes(): number | null {
    return this.process.rssBytes();
  }

  baselineRssBytes(): number | null {
    return this.process.sharedState?.baselineRssBytes ?? null;
  }

  serves(params: LoadParams): boolean {
    return this.mirror.serves(this.process, params);
  }

  async load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    let result: LoadResult;
    try {
      result = await this.process.load(params, signal);
    } catch (err) {
      if (signal?.aborted || !this.leavingInDeepSleep()) throw err;
      // The wake met the host on its way out in a deep sleep (it refused the load, or ended under
      // it): once it is gone, a new host serves this wake.
      await this.mirror.leaveSleepingHost(this.process);
      if (signal?.aborted) throw new Error(`Loading ${params.modelPath} was cancelled.`, { cause: err });
      throw new ModelLeftError(errorMessage(err), { cause: err });
    }
    // Loaded by this window: any earlier announcement is history.
    this.mirror.loaded();
    return result;
  }

  saveState(params: SaveStateParams): Promise<SaveStateResult> {
    return this.process.saveState(params);
  }

  unload(): Promise<HostStats> {
    return this.process.unload();
  }

  async sleep(params: SleepParams): Promise<EngineSleep> {
    // The host decided this sleep itself (or another window asked for it): it frees the model alone.
    if (this.mirror.followingSleep(this.process)) {
      if (this.process.sharedState?.deep) {
        await this.mirror.leaveSleepingHost(this.process);
        return { kept: false, stats: null };
      }
      // A light shared sleep keeps the host, whatever this window's own mode.
      return { kept: !this.process.exit, stats: null };
    }
    return this.mirror.ownSleepOf(() => ownSleep(this, params));
  }

  sleepFreedRss(): Promise<number | null> {
    return this.mirror.sleepFreedRss(this.process);
  }

  infill(params: InfillParams, signal?: AbortSignal): Promise<GenerationResult> {
    return this.leftAsModelLeft(signal, () => this.process.infill(params, signal));
  }

  prefill(params: PrefillParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.leftAsModelLeft(signal, () => this.process.prefill(params, signal));
  }

  chatPrefill(params: ChatTurnParams, signal?: AbortSignal): Promise<PrefillResult> {
    return this.leftAsModelLeft(signal, () => this.process.chatPrefill(params, signal));
  }

  chat(params: ChatTurnParams, onChunk: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    return this.leftAsModelLeft(signal, () => this.process.chat(params, onChunk, signal));
  }

  stats(): Promise<HostStats> {
    return this.process.stats();
  }

  shutdown(timeoutMs?: number): Promise<EngineExit> {
    return this.process.shutdown(timeoutMs);
  }

  detach(): Promise<EngineExit> {
    return this.process.detach();
  }

  kill(): Promise<EngineExit> {
    return this.process.kill();
  }

  remote(): RemoteView | null {
    return null;
  }

  /** The host announced a deep sleep: it exits, or has exited, as asked. */
  private leavingInDeepSleep(): boolean {
    const state = this.process.sharedState;
    return state?.state === 'sleeping' && state.deep;
  }

  /**
   * A generation that failed because the host was leaving in a deep sleep (it refused the request,
   * or ended under it) fails as ModelLeftError, which the gate runs again after the wake.
   */
  private async leftAsModelLeft<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!signal?.aborted && this.leavingInDeepSleep()) throw new ModelLeftError(errorMessage(err), { cause: err });
      throw err;
    }
  }
}
