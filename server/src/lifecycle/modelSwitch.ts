// What a change of the model settings does to the loaded model. A working model is given up for a
// remote one (hf:, URL) only once that is downloaded and a complete GGUF: a download may fail for
// reasons of its own (network, token, disk). A local path the user picked is loaded as chosen, so
// a bad one shows as an error at once.
import * as path from 'node:path';
import { errorMessage } from '../shared/errors';
import { isRemoteModelRef } from '../shared/modelRef';
import type { Settings } from '../shared/settings';
import type { ResumeGate } from './gate';

export interface ModelSwitchOptions {
  gate: ResumeGate;
  /** Turns a model setting into a checked local file (may download). */
  resolve(setting: string, signal: AbortSignal): Promise<string>;
  /** Cancels a load that is still resolving or downloading. */
  abortLoad(): void;
  log(line: string): void;
  showError(message: string): void;
  onChange(): void;
}

export class ModelSwitch {
  /** The model in use while a switch to another is being checked; null: the setting's own. */
  private keptModel: string | null = null;
  private failure: string | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly options: ModelSwitchOptions) {}

  /** The settings the model is loaded with: the user's, except the model while a switch is checked. */
  effective(settings: Settings): Settings {
    return this.keptModel === null ? settings : { ...settings, model: this.keptModel };
  }

  /** Why the model the user chose is not the one in use; null when it is. */
  get problem(): string | null {
    return this.failure;
  }

  /** Called after settings that need a reload changed. */
  apply(previous: Settings, next: Settings): void {
    const { gate } = this.options;
    this.options.abortLoad();
    const modelChanged = previous.model !== next.model;
    if (modelChanged && gate.state === 'ready' && isRemoteModelRef(next.model)) {
      void this.switchTo(this.keptModel ?? previous.model, next.model);
      return;
    }
    if (modelChanged) {
      this.abort?.abort();
      this.keptModel = null;
      this.failure = null;
    }
    // A model the user just chose is loaded now, even from sleep, so a bad choice shows at once.
    void gate.reload().then(() => {
      if (modelChanged && gate.state === 'sleeping') void gate.wake();
    });
  }

  private async switchTo(from: string, to: string): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    this.keptModel = from;
    try {
      await this.options.resolve(to, abort.signal);
      if (abort.signal.aborted) return;
      this.keptModel = null;
      this.failure = null;
      await this.options.gate.reload();
    } catch (err) {
      if (abort.signal.aborted) return;
      this.failure = `Still using ${path.basename(from || 'the previous model')}: ${errorMessage(err)}`;
      this.options.log(this.failure);
      this.options.showError(`Local LLM: ${this.failure}`);
      this.options.onChange();
    }
  }
}
