// The model's lifecycle over LSP: localLlm/status (exempt), sleep, wake and activity, the
// didChangeState push (one per change, not per memory wobble) and work-done progress while the
// model loads or wakes.
import * as path from 'node:path';
import type { Connection, InitializeParams, ServerCapabilities, WorkDoneProgressServerReporter } from 'vscode-languageserver/node';
import type { Feature } from '../feature';
import {
  ActivityNotification,
  DidChangeStateNotification,
  SleepRequest,
  StatusRequest,
  WakeRequest,
  type ActivityParams,
  type ModelStatus,
} from '../shared/protocol';
import type { ResumeGate } from './gate';
import type { ModelDriver } from './modelDriver';

export interface StatusFeatureOptions {
  connection: Connection;
  gate: ResumeGate;
  driver: ModelDriver;
  /** The status as of now. */
  status(): ModelStatus;
  /** Name of the model being loaded, for the progress title. */
  modelSetting(): string;
}

/** The idle countdown is pushed when its deadline moves, in steps of this many seconds. */
const deadlineStepSeconds = 5;

export class StatusFeature implements Feature {
  private workDoneProgress = false;
  private pushScheduled = false;
  private lastSent = '';
  private loadingProgress: WorkDoneProgressServerReporter | null = null;

  constructor(private readonly options: StatusFeatureOptions) {
    const { gate, driver } = options;
    gate.onDidChange(() => {
      driver.stats.observe(gate.state, Date.now());
      void this.reportLoading(gate.state === 'loading' || gate.state === 'waking');
      this.push();
    });
  }

  initialize(params: InitializeParams): ServerCapabilities {
    const { connection, gate, driver, status } = this.options;
    this.workDoneProgress = params.capabilities.window?.workDoneProgress === true;
    // Exempt and never waits on the model host: the last known figures now, fresh ones later.
    connection.onRequest(StatusRequest.type, () => {
      driver.refreshStats();
      return status();
    });
    connection.onRequest(SleepRequest.type, async () => {
      await gate.sleep();
      // A server that sleeps on its own: say that Sleep Now did not reach it.
      const note = driver.sleepNowNote();
      if (note) void connection.window.showInformationMessage(`Local LLM: ${note}`);
      return status();
    });
    connection.onRequest(WakeRequest.type, async () => {
      await gate.wake();
      return status();
    });
    connection.onNotification(ActivityNotification.type, (activity: ActivityParams | undefined) => {
      gate.activity(activity?.kind ?? 'cursor');
      // The shared host's idle time counts every window's activity.
      driver.activity();
      this.push();
    });
    return {};
  }

  /** Sends the status once per tick of changes, and only when something the user sees moved. */
  push(): void {
    if (this.pushScheduled) return;
    this.pushScheduled = true;
    setImmediate(() => {
      this.pushScheduled = false;
      const status = this.options.status();
      // Memory figures move all the time; the idle countdown counts only when its deadline moved.
      const deadline =
        status.idleSecondsLeft === null ? null : Math.round((Date.now() / 1000 + status.idleSecondsLeft) / deadlineStepSeconds);
      const key = JSON.stringify({ ...status, memory: null, idleSecondsLeft: deadline });
      if (key === this.lastSent) return;
      this.lastSent = key;
      void this.options.connection.sendNotification(DidChangeStateNotification.type, status);
    });
  }

  private async reportLoading(busy: boolean): Promise<void> {
    if (!this.workDoneProgress) return;
    const { connection, gate, driver } = this.options;
    if (busy && !this.loadingProgress) {
      const name = driver.info?.name ?? path.basename(this.options.modelSetting() || 'the model');
      this.loadingProgress = await connection.window.createWorkDoneProgress();
      this.loadingProgress.begin('Local LLM', undefined, gate.state === 'waking' ? `Waking ${name}…` : `Loading ${name}…`);
      // The state may have moved on while the progress was being created.
      if (gate.state !== 'loading' && gate.state !== 'waking') void this.reportLoading(false);
    } else if (!busy && this.loadingProgress) {
      this.loadingProgress.done();
      this.loadingProgress = null;
    }
  }
}
