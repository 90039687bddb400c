// The language server's view of the shared model host, kept for this window across the hosts it
// attaches to: which identity it serves, its last announced state (for status and the idle
// countdown), this window's settings and activity sent to it, and the sleeps and wakes of other
// windows handed to the gate, so that the gate follows the shared model instead of deciding alone.
import type { SharingStatus } from '../../shared/protocol';
import { needsReload, type Settings } from '../../shared/settings';
import { peekSharedHost } from './attachHost';
import type { HostProcess } from './hostProcess';
import type { HelloParams, SharedHostState } from '../../host/protocol';
import type { LoadParams } from '../types';
import { StandbyWatch } from './standbyWatch';
import { hostKey, notSharedReason, otherHosts, usableRuntimeDir, type HostIdentity } from '../../shared/rendezvous';

export interface SharedHostMirrorOptions {
  settings(): Settings;
  /** The shared host goes to sleep (for every window); byUser: some window said Sleep Now. */
  onSleep(byUser: boolean): void;
  /** The shared host is ready (another window woke it, or this one did). */
  onReady(): void;
  onChange(): void;
  env?: NodeJS.ProcessEnv;
}

/** How long a window waits for a deep-sleeping shared host to exit by itself. */
const exitWaitMs = 5000;
/** How long a window waits for the shared host to say what a light sleep freed. */
const sleepFreedWaitMs = 10_000;
/** How often a window whose shared host ended in deep sleep looks whether another window woke it. */
const peekMs = 1000;

/**
 * What decides which shared host a window uses. `lookup` is left out: it never changes the text,
 * so windows that differ in it share one host, which drafts as the window that loaded it asked.
 */
export function identityOf(params: LoadParams): HostIdentity {
  const { modelPath, gpu, gpuLayers, contextSize, threads, chatModelPath, draftModelPath } = params;
  return {
    modelPath,
    gpu,
    gpuLayers,
    contextSize,
    threads,
    ...(chatModelPath ? { chatModelPath } : {}),
    ...(draftModelPath ? { draftModelPath } : {}),
  };
}

export class SharedHostMirror {
  private host: HostProcess | null = null;
  private identity: HostIdentity | null = null;
  private state: SharedHostState | null = null;
  private receivedAt = 0;
  /** The host announced a sleep this window did not ask for: its gate's unload only follows it. */
  private pendingSleep = false;
  /** This window is asking the host to sleep right now: the announcement is its own. */
  private ownSleep = false;
  private lastActivitySent = 0;
  private notShared: string | null = null;
  private peekTimer: NodeJS.Timeout | null = null;
  private peeking = false;
  /** The standby host this window keeps alive in deep sleep, and the settings it was held with. */
  private standby: { watch: StandbyWatch; settings: Settings } | null = null;

  constructor(private readonly options: SharedHostMirrorOptions) {}

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  hello(): Omit<HelloParams, 'clientPid'> {
    const settings = this.options.settings();
    return {
      idleMs: settings.sleepIdleSeconds * 1000,
      sleepMode: settings.sleepMode,
      stateCapBytes: settings.stateCacheMB * 1024 * 1024,
      standby: settings.sleep.standby,
    };
  }

  /** Whether `host` is the shared host for these load settings. */
  serves(host: HostProcess, params: LoadParams): boolean {
    if (host !== this.host || this.identity === null) return true;
    return hostKey(this.identity) === hostKey(identityOf(params));
  }

  follow(host: HostProcess, params: LoadParams): void {
    this.stopPeeking();
    // A standby of another model or other settings is let go now; the same one once this host answers.
    if (this.standby && hostKey(this.standby.watch.identity) !== hostKey(identityOf(params))) this.releaseStandby();
    this.host = host;
    this.identity = identityOf(params);
    this.state = null;
    this.pendingSleep = false;
    this.refreshNotShared();
    host.onSharedState((state) => this.onState(host, state));
    host.onExit((exit) => {
      if (this.host !== host) return;
      const deepSleep = exit.expected && this.state?.state === 'sleeping' && this.state.deep;
      this.host = null;
      this.state = null;
      // Asleep without a host, or its host crashed: the next window to load the model (any
      // window's request starts a new host) loads it for this one too.
      if (deepSleep || !exit.expected) this.startPeeking();
      // The deep sleep left a standby host: this window keeps it alive until it wakes.
      if (deepSleep && this.identity !== null && this.options.settings().sleep.standby) this.holdStandby(this.identity);
      else this.releaseStandby();
      this.options.onChange();
    });
  }

  /** The window's sleep settings changed. */
  configure(): void {
    this.host?.configureShared(this.hello());
    const standby = this.standby;
    if (!standby) return;
    const settings = this.options.settings();
    // Turned off: the standby is told (it ends at once), then let go. Another model: only let go.
    if (!settings.sleep.standby) void standby.watch.configure(this.hello()).finally(() => this.releaseStandby(standby.watch));
    else if (needsReload(standby.settings, settings)) this.releaseStandby();
    this.options.onChange();
  }

  /** The RSS of the standby host this window keeps in deep sleep; null when it keeps none. */
  standbyRssBytes(): number | null {
    return this.standby?.watch.rssBytes() ?? null;
  }

  /** Editor activity: sent to the host at most a few times per idle period. */
  activity(): void {
    const host = this.host;
    if (!host) return;
    const idleMs = this.options.settings().sleepIdleSeconds * 1000;
    const every = Math.max(100, Math.min(1000, idleMs / 4));
    const now = Date.now();
    if (now - this.lastActivitySent < every) return;
    this.lastActivitySent = now;
    host.activity();
  }

  /** Runs this window's own request that the host sleep. */
  async ownSleepOf<T>(work: () => Promise<T>): Promise<T> {
    this.ownSleep = true;
    try {
      return await work();
    } finally {
      this.ownSleep = false;
    }
  }

  /**
   * Whether the gate's unload only follows a sleep the host announced (so the host is not asked
   * to sleep again, which would undo a wake that another window asked for meanwhile).
   */
  followingSleep(host: HostProcess): boolean {
    if (host !== this.host) return false;
    const following = this.pendingSleep || this.state?.state === 'sleeping';
    this.pendingSleep = false;
    return following;
  }

  /** A deep-sleeping shared host exits by itself; this window waits for that, briefly, then lets go. */
  async leaveSleepingHost(host: HostProcess): Promise<void> {
    if (host.exit) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, exitWaitMs);
      host.onExit(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!host.exit) await host.detach();
  }

  /**
   * What the shared host's current sleep freed, as the host measured it, so that every window
   * says the same: all of its RSS for a deep sleep (the process ends), before minus after for a
   * light one, waiting (at most `timeoutMs`) for the host to say it has freed the model. Null
   * when the host said nothing of it (it crashed).
   */
  async sleepFreedRss(host: HostProcess, timeoutMs = sleepFreedWaitMs): Promise<number | null> {
    const figure = (): number | null => {
      const state = host.sharedState;
      const rss = state?.sleepRssBytes;
      if (state?.state !== 'sleeping' || !rss) return null;
      if (state.deep) return rss.before;
      return rss.after === null ? null : Math.max(0, rss.before - rss.after);
    };
    if (host.exit || figure() !== null) return figure();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        onState.dispose();
        onExit.dispose();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const onState = host.onSharedState(() => {
        if (figure() !== null) done();
      });
      const onExit = host.onExit(done);
    });
    return figure();
  }

  /** Loaded by this window: any earlier announcement is history. */
  loaded(): void {
    this.pendingSleep = false;
  }

  /** Until the shared idle sleep, counted from when the host said it; null when none is due. */
  idleMsLeft(): number | null {
    const state = this.state;
    if (!state || state.state !== 'ready' || state.idleMsLeft === null) return null;
    return Math.max(0, state.idleMsLeft - (Date.now() - this.receivedAt));
  }

  info(): SharingStatus | null {
    if (!this.state && this.notShared === null) return null;
    const state = this.state;
    return {
      otherWindows: Math.max(0, (state?.clients ?? 1) - 1),
      notShared: state && state.clients > 1 ? null : this.notShared,
      hostLoads: state?.loads ?? 0,
    };
  }

  dispose(): void {
    this.stopPeeking();
    this.releaseStandby();
    this.host = null;
    this.state = null;
  }

  private startPeeking(): void {
    if (this.peekTimer !== null || this.identity === null) return;
    const identity = this.identity;
    this.peekTimer = setInterval(() => {
      if (this.peeking) return;
      this.peeking = true;
      peekSharedHost(identity, this.env)
        .then((loaded) => {
          if (!loaded || this.peekTimer === null) return;
          this.stopPeeking();
          this.options.onReady();
        })
        .catch(() => undefined)
        .finally(() => (this.peeking = false));
    }, peekMs);
    this.peekTimer.unref();
  }

  private stopPeeking(): void {
    if (this.peekTimer !== null) clearInterval(this.peekTimer);
    this.peekTimer = null;
  }

  private refreshNotShared(): void {
    if (this.identity === null) return;
    const dir = usableRuntimeDir(this.env);
    this.notShared = notSharedReason(this.identity, dir === null ? [] : otherHosts(dir, hostKey(this.identity)));
  }

  private holdStandby(identity: HostIdentity): void {
    this.releaseStandby();
    this.standby = { watch: new StandbyWatch(identity, this.env), settings: this.options.settings() };
  }

  /** Lets go of the standby (only of `watch`, when given: a newer one stays). */
  private releaseStandby(watch?: StandbyWatch): void {
    if (!this.standby || (watch && this.standby.watch !== watch)) return;
    this.standby.watch.release();
    this.standby = null;
  }

  private onState(host: HostProcess, state: SharedHostState): void {
    if (host !== this.host) return;
    // Attached for the wake: the standby is this host now, or no longer needed.
    this.releaseStandby();
    const previous = this.state?.state ?? null;
    this.state = state;
    this.receivedAt = Date.now();
    if (previous === null || previous !== state.state || state.clients <= 1) this.refreshNotShared();
    if (state.state === 'sleeping' && previous !== 'sleeping') {
      if (!this.ownSleep) this.pendingSleep = true;
      this.options.onSleep(state.byUser);
    } else if (state.state === 'ready' && previous !== 'ready') {
      this.options.onReady();
    }
    this.options.onChange();
  }
}
