// Picks the engine for the `localLlm.engine` setting: the local model host, or a model server;
// and keeps what this window knows of each kind across its engines (a server's session, the
// shared host's announcements), so that the driver never asks which kind it drives.
import type { LoadParams } from './types';
import type { SharingStatus } from '../shared/protocol';
import { isRemoteEngine, type Settings } from '../shared/settings';
import type { Engine } from './types';
import type { HostDeadlines } from './hostDeadlines';
import { RemoteEngine, RemoteSession } from './http/remoteEngine';
import { LocalEngine } from './local/localEngine';
import { SharedHostMirror } from './local/sharedHostMirror';

/** What a model server engine needs from the language server. */
export interface RemoteEngineHooks {
  /** The API key from the client's secret storage; null: none. Never logged. */
  apiKey(): string | null;
  /** A failure, once, as a notification. */
  notify(sentence: string): void;
  /** Plain http to another machine: asks the user (once per host; remembered by the caller). */
  confirmPlainHttp(host: string): Promise<boolean>;
  /** How often the server's sleep is polled while awake (tests); default 2 s. */
  pollMs?: number;
}

/** What the local model host needs from the language server. */
export interface LocalEngineHooks {
  /** The bundled host entry, dist/host.js. */
  hostPath: string;
  /** Each line the host logs to this window. */
  log(line: string): void;
  /** Deadlines other than the defaults (tests). */
  deadlines?: Partial<HostDeadlines>;
}

export interface EngineFactoryOptions {
  host: LocalEngineHooks;
  settings(): Settings;
  log(line: string): void;
  onChange(): void;
  remote?: RemoteEngineHooks;
  /** The engine went to sleep for every window (the shared host decided); byUser: some window said Sleep Now. */
  onSleep(byUser: boolean): void;
  /** The engine is ready again for every window (another window woke it, or this one did). */
  onReady(): void;
}

/** Whether `engine` serves the current setting; one that does not is let go before the next load. */
export function engineMatches(engine: Engine, settings: Settings): boolean {
  return isRemoteEngine(settings) ? engine.remote()?.url === settings.engine : engine.kind === 'local';
}

export class EngineFactory {
  private session: RemoteSession | null = null;
  /** The shared host as this window sees it, whichever host process it is attached to. */
  private readonly mirror: SharedHostMirror;

  constructor(private readonly options: EngineFactoryOptions) {
    this.mirror = new SharedHostMirror({
      settings: options.settings,
      onSleep: (byUser) => options.onSleep(byUser),
      onReady: () => options.onReady(),
      onChange: options.onChange,
    });
  }

  /** The server's session for the current URL; null for the local engine. */
  get remoteSession(): RemoteSession | null {
    const settings = this.options.settings();
    return isRemoteEngine(settings) && this.session?.url === settings.engine ? this.session : null;
  }

  /** A new engine for the current setting; `params`: what the local host is started for. */
  create(params: LoadParams): Engine {
    const settings = this.options.settings();
    if (!isRemoteEngine(settings)) {
      const { hostPath, log, deadlines } = this.options.host;
      return new LocalEngine({ hostPath, log, deadlines, params, mirror: this.mirror });
    }
    if (this.session?.url !== settings.engine) this.session = new RemoteSession(settings.engine);
    const hooks = this.options.remote;
    return new RemoteEngine({
      session: this.session,
      settings: this.options.settings,
      log: this.options.log,
      onChange: this.options.onChange,
      apiKey: () => hooks?.apiKey() ?? null,
      notify: (sentence) => hooks?.notify(sentence),
      confirmPlainHttp: (host) => hooks?.confirmPlainHttp(host) ?? Promise.resolve(false),
      pollMs: hooks?.pollMs,
    });
  }

  /** Editor activity in this window: the shared host's idle time counts every window's (throttled). */
  activity(): void {
    this.mirror.activity();
  }

  /** This window's sleep settings changed: the shared host learns them. */
  configure(): void {
    this.mirror.configure();
  }

  /** Until the shared host's idle sleep, as it last said; null when none is due (or none is shared). */
  idleMsLeft(): number | null {
    return this.mirror.idleMsLeft();
  }

  /** The RSS of the standby host this window keeps in deep sleep; null when it keeps none. */
  standbyRssBytes(): number | null {
    return this.mirror.standbyRssBytes();
  }

  /** Who else uses the shared host, for status; null when nothing is known. */
  sharing(): SharingStatus | null {
    return this.mirror.info();
  }

  dispose(): void {
    this.mirror.dispose();
  }
}
