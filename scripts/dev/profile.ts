// A fresh, throwaway VS Code profile per run: user data, extensions and config folders.
// A reused user-data folder restores unsaved edits, and an extension loaded both installed and
// as a development path fails with "command already exists", so nothing is shared between runs.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Profile {
  root: string;
  userDataDir: string;
  extensionsDir: string;
  /** XDG_CONFIG_HOME for code-server, so it never writes ~/.config/code-server. */
  configHome: string;
  settingsFile: string;
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
  for (const d of [userDataDir, extensionsDir, configHome, path.join(userDataDir, 'User')]) mkdirSync(d, { recursive: true });
  return {
    root: dir,
    userDataDir,
    extensionsDir,
    configHome,
    settingsFile: path.join(userDataDir, 'User', 'settings.json'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes the user settings before the workbench starts (code-server misses outside edits later). */
export function writeUserSettings(profile: Profile, settings: Readonly<Record<string, unknown>>): void {
  // Written aside and renamed, so the watcher never reads half a file.
  const temp = `${profile.settingsFile}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(settings, null, 2) + '\n');
  renameSync(temp, profile.settingsFile);
}
