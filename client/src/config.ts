// Reading and writing our settings. Reads go through the shared normalizer, so the client
// sees exactly the values the server uses; LocalSettings keeps the result, normalized once per
// configuration change rather than on every read.
import * as vscode from 'vscode';
import { normalizeSettings, type Settings } from '../../server/src/shared/settings';

export const settingsSection = 'localLlm';

/** The raw `localLlm` object as VS Code merges it; the server normalizes it again. */
export function rawSettings(): unknown {
  return vscode.workspace.getConfiguration().get(settingsSection);
}

/** Our settings, normalized; refreshed whenever a `localLlm` setting changes. */
export class LocalSettings implements vscode.Disposable {
  private value = LocalSettings.read();
  private readonly changed = new vscode.EventEmitter<Settings>();
  /** Fires after `current` took a changed `localLlm` configuration. */
  readonly onDidChange = this.changed.event;
  private readonly subscription = vscode.workspace.onDidChangeConfiguration((e) => {
    if (!e.affectsConfiguration(settingsSection)) return;
    this.value = LocalSettings.read();
    this.changed.fire(this.value);
  });

  get current(): Settings {
    return this.value;
  }

  private static read(): Settings {
    return normalizeSettings(rawSettings()).settings;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** Writes where it takes effect: the workspace when it already sets the key, else the user settings. */
export async function writeSetting(key: string, value: unknown): Promise<vscode.ConfigurationTarget> {
  const config = vscode.workspace.getConfiguration(settingsSection);
  const inspected = config.inspect(key);
  const target = inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update(key, value, target);
  return target;
}
