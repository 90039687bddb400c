// A fresh, throwaway VS Code profile per run: user data, extensions and config folders.
// A reused user-data folder restores unsaved edits, and an extension loaded both installed and
// as a development path fails with "command already exists", so nothing is shared between runs.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { machineScopedKeys } from '../../server/src/shared/settings';

export interface Profile {
  root: string;
  userDataDir: string;
  extensionsDir: string;
  /** XDG_CONFIG_HOME for code-server, so it never writes ~/.config/code-server. */
  configHome: string;
  settingsFile: string;
  /**
   * The remote machine's settings. code-server is a remote window, where VS Code reads
   * machine-scoped settings (the model, the GPU) only from here, never from the user settings.
   */
  machineSettingsFile: string;
  dispose(): void;
}

/** What keeps ghost text visible and the workbench quiet and offline in tests. */
export const quietWorkbenchSettings: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'editor.inlineSuggest.enabled': true,
  'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
  'editor.suggestOnTriggerCharacters': false,
  'files.autoSave': 'off',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'workbench.tips.enabled': false,
  // Text the tests type or insert lands as is.
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
  'editor.autoIndent': 'none',
  'editor.formatOnType': false,
  'workbench.enableExperiments': false,
  // One llama.cpp thread: two on two cores shared with the workbench and Chromium spin against each other.
  'localLlm.threads': 1,
};

export function createProfile(label: string, root?: string): Profile {
  const dir = root ?? mkdtempSync(path.join(os.tmpdir(), `local-llm-${label}-`));
  const userDataDir = path.join(dir, 'user');
  const extensionsDir = path.join(dir, 'extensions');
  const configHome = path.join(dir, 'config');
  for (const d of [userDataDir, extensionsDir, configHome, path.join(userDataDir, 'User'), path.join(userDataDir, 'Machine')]) {
    mkdirSync(d, { recursive: true });
  }
  return {
    root: dir,
    userDataDir,
    extensionsDir,
    configHome,
    settingsFile: path.join(userDataDir, 'User', 'settings.json'),
    machineSettingsFile: path.join(userDataDir, 'Machine', 'settings.json'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** True for `localLlm.*` keys VS Code reads only from the machine's settings in a remote window. */
export function isMachineScoped(key: string): boolean {
  return (machineScopedKeys as readonly string[]).some((k) => key === `localLlm.${k}`);
}

/**
 * Writes the settings before the workbench starts (code-server misses outside edits later):
 * all into the user's settings, which a desktop VS Code reads, and the machine-scoped keys also
 * into the machine's, where a remote window such as code-server reads those.
 */
export function writeUserSettings(profile: Profile, settings: Readonly<Record<string, unknown>>): void {
  writeJson(profile.settingsFile, settings);
  writeJson(profile.machineSettingsFile, Object.fromEntries(Object.entries(settings).filter(([key]) => isMachineScoped(key))));
}

function writeJson(file: string, value: unknown): void {
  // Written aside and renamed, so the watcher never reads half a file.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2) + '\n');
  renameSync(temp, file);
}
