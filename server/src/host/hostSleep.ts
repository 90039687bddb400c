// The sleep of the shared host, for every window at once: completions are aborted, chats finish,
// then the model is freed (light) or the process ends (deep, through boundedExit.ts). A light
// sleep asked while one is under way is that one; a deep one follows it.
import { disposeThenExit } from './boundedExit';
import { spawnStandby } from './standby';
import type { HostClients } from './hostClients';
import type { IdleWatchdog } from './idleWatchdog';
import type { LlamaEngine } from './llama/llamaEngine';
import { ownRssBytes } from '../shared/memory';
import type { ModelStatus } from './modelStatus';
import type { SharedLoad } from './sharedLoad';

export interface SleepHow {
  /** Sleep Now from some window. */
  byUser: boolean;
  /** The process ends. */
  deep: boolean;
  /** Keep the sequences' state first: the host decided the sleep itself (a window that asks saves before it asks). */
  save: boolean;
}

export interface HostSleepParts {
  engine: LlamaEngine;
  clients: HostClients;
  watchdog: IdleWatchdog;
  load: SharedLoad;
  status: ModelStatus;
  /** The status changed: every window hears of it. */
  broadcast(): void;
}

export class HostSleep {
  private current: Promise<void> | null = null;
  private leaving = false;

  constructor(private readonly parts: HostSleepParts) {}

  /** The sleep under way; null when none is. */
  get sleeping(): Promise<void> | null {
    return this.current;
  }

  /** A deep sleep began: the process is on its way out. */
  get exiting(): boolean {
    return this.leaving;
  }

  sleep(how: SleepHow): Promise<void> {
    if (this.leaving) return this.current ?? Promise.resolve();
    if (this.current && !how.deep) return this.current;
    const previous = this.current;
    const op = (async () => {
      if (previous) await previous;
      await this.parts.load.settled();
      await this.sleepNow(how);
    })();
    const tracked = (this.current = op.finally(() => {
      if (this.current === tracked) this.current = null;
    }));
    return tracked;
  }

  private async sleepNow(how: SleepHow): Promise<void> {
    const { engine, clients, status } = this.parts;
    this.parts.watchdog.stop();
    status.byUser = how.byUser;
    status.deep = how.deep;
    const wasLoaded = status.state === 'ready';
    if (wasLoaded) status.sleepRssBytes = { before: ownRssBytes(), after: null };
    status.state = 'sleeping';
    if (how.deep) this.leaving = true;
    this.parts.broadcast();
    clients.abortAll();
    if (how.save && wasLoaded) {
      const cap = clients.stateCap();
      if (cap > 0) await engine.saveStates(cap).catch(() => undefined);
    }
    if (how.deep) {
      // Asked before the close, while the windows are still known.
      const standby = clients.wantStandby() ? clients.windowPids() : null;
      // Stops listening and gives up the rendezvous for a new host, then frees the model and ends the process.
      clients.close();
      // The next wake attaches to a process that has its libraries loaded already (standby.ts).
      if (standby) spawnStandby(clients.rendezvous, standby, (line) => clients.logLine(line));
      await disposeThenExit(
        () => engine.dispose(),
        (line) => clients.logLine(line),
      );
      return;
    }
    await engine.unload();
    if (status.sleepRssBytes) status.sleepRssBytes = { ...status.sleepRssBytes, after: ownRssBytes() };
    status.loaded = null;
    this.parts.broadcast();
  }
}
