// Picks the engine for the `localLlm.engine` setting: the local model host, or a model server.
import type { HostProcessOptions } from '../host/hostProcess';
import { isRemoteEngine, type Settings } from '../shared/settings';
import type { Engine } from './engine';
import { RemoteEngine, RemoteSession } from './http/remoteEngine';
import { LocalEngine } from './local';

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

export interface EngineFactoryOptions {
  host: HostProcessOptions;
  settings(): Settings;
  log(line: string): void;
  onChange(): void;
  remote?: RemoteEngineHooks;
}

/** Whether `engine` serves the current setting; one that does not is let go before the next load. */
export function engineMatches(engine: Engine, settings: Settings): boolean {
  return isRemoteEngine(settings) ? engine.remote()?.url === settings.engine : engine.kind === 'local';
}

export class EngineFactory {
  private session: RemoteSession | null = null;

  constructor(private readonly options: EngineFactoryOptions) {}

  /** The server's session for the current URL; null for the local engine. */
  get remoteSession(): RemoteSession | null {
    const settings = this.options.settings();
    return isRemoteEngine(settings) && this.session?.url === settings.engine ? this.session : null;
  }

  /** `shared`: the local host is the one shared by this user's windows with the same identity. */
  create(shared?: HostProcessOptions['shared']): Engine {
    const settings = this.options.settings();
    if (!isRemoteEngine(settings)) return new LocalEngine({ ...this.options.host, shared });
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
}
