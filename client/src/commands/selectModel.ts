// "Local LLM: Select Model": a cached model, a preset, a local .gguf file or a model to download,
// written to the `localLlm.model` setting; cached models can be deleted from here too. The server
// reloads the model when the setting changes (keeping the old one if the new one is unusable).
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DeleteModelRequest, ListModelsRequest, type CachedModel, type ListModelsResult } from '../../../server/src/shared/protocol';
import { formatBytes } from '../../../server/src/shared/format';
import { isRemoteModelRef, parseModelRef } from '../../../server/src/shared/modelRef';
import { writeSetting } from '../config';
import { errorMessage } from '../../../server/src/shared/errors';

interface ModelChoice extends vscode.QuickPickItem {
  pick: () => Promise<string | undefined>;
}

/** What is wrong with a typed model to download, in one sentence; null when it can be used. */
function checkDownload(text: string): string | null {
  if (!isRemoteModelRef(text)) return 'Type an hf: URI such as hf:user/repo/model.gguf, or an https URL of a .gguf file.';
  const parsed = parseModelRef(text);
  return parsed.ok ? null : parsed.problem;
}

/** The folder of the current model, when it is a local file, for the file dialog to open in. */
function localFolder(current: string): vscode.Uri | undefined {
  const parsed = parseModelRef(current);
  if (!parsed.ok || parsed.ref.kind !== 'local') return undefined;
  const text = parsed.ref.text;
  if (/^file:/i.test(text)) return vscode.Uri.joinPath(vscode.Uri.parse(text), '..');
  return vscode.Uri.file(path.dirname(text.startsWith('~') ? path.join(os.homedir(), text.slice(1)) : text));
}

async function pickFile(current: string): Promise<string | undefined> {
  const folder = localFolder(current);
  const files = await vscode.window.showOpenDialog({
    canSelectMany: false,
    canSelectFolders: false,
    defaultUri: folder,
    filters: { 'GGUF models': ['gguf'] },
    openLabel: 'Use This Model',
    title: 'Local LLM: Select a GGUF model file',
  });
  return files?.[0]?.fsPath;
}

async function typeReference(current: string): Promise<string | undefined> {
  const typed = await vscode.window.showInputBox({
    title: 'Local LLM: Model to download',
    prompt: 'A Hugging Face URI or an https URL of a .gguf file. It is downloaded once into the extension storage.',
    placeHolder: 'hf:user/repo/model.gguf',
    value: isRemoteModelRef(current) ? current : '',
    ignoreFocusOut: true,
    validateInput: checkDownload,
  });
  return typed?.trim();
}

const deleteButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Delete this downloaded model' };

interface CachedChoice extends ModelChoice {
  cached: CachedModel;
}

async function confirmDelete(client: LanguageClient, model: CachedModel): Promise<boolean> {
  const answer = await vscode.window.showWarningMessage(
    `Delete ${model.name} (${formatBytes(model.sizeBytes)}) from the model cache?`,
    { modal: true },
    'Delete',
  );
  if (answer !== 'Delete') return false;
  try {
    await client.sendRequest(DeleteModelRequest.type, { path: model.path });
    return true;
  } catch (err) {
    void vscode.window.showErrorMessage(`Local LLM: ${errorMessage(err)}`);
    return false;
  }
}

/** Cached models and presets; an empty list when no server runs (the other choices still work). */
async function serverChoices(client: LanguageClient | undefined, current: string): Promise<ModelChoice[]> {
  if (!client) return [];
  let listing: ListModelsResult;
  try {
    listing = await client.sendRequest(ListModelsRequest.type);
  } catch {
    return [];
  }
  const choices: ModelChoice[] = [];
  if (listing.cached.length) choices.push({ label: 'Downloaded', kind: vscode.QuickPickItemKind.Separator, pick: async () => undefined });
  for (const cached of listing.cached) {
    const inUse = cached.source === current || cached.path === current;
    const item: CachedChoice = {
      label: `$(database) ${cached.name}`,
      description: `${formatBytes(cached.sizeBytes)}${inUse ? ' · in use' : ''}`,
      detail: cached.source ?? cached.path,
      buttons: inUse ? [] : [deleteButton],
      cached,
      pick: async () => cached.source ?? cached.path,
    };
    choices.push(item);
  }
  choices.push({ label: 'Presets', kind: vscode.QuickPickItemKind.Separator, pick: async () => undefined });
  for (const preset of listing.presets) {
    const recommended = preset.id === listing.recommendedPresetId;
    choices.push({
      label: `$(${recommended ? 'star-full' : 'sparkle'}) ${preset.label}`,
      description: `${formatBytes(preset.sizeBytes)}${recommended ? ' · recommended for this machine' : ''}`,
      detail: preset.detail,
      pick: async () => preset.uri,
    });
  }
  choices.push({ label: 'Other', kind: vscode.QuickPickItemKind.Separator, pick: async () => undefined });
  return choices;
}

/** Shows the picker; resolves with the chosen item, or undefined when dismissed. */
function pickModel(client: LanguageClient | undefined, choices: ModelChoice[], placeholder: string): Promise<ModelChoice | undefined> {
  return new Promise((resolve) => {
    const quickPick = vscode.window.createQuickPick<ModelChoice>();
    quickPick.title = 'Local LLM: Select Model';
    quickPick.placeholder = placeholder;
    quickPick.items = choices;
    quickPick.matchOnDetail = true;
    quickPick.onDidTriggerItemButton(async ({ item }) => {
      if (!client || !('cached' in item)) return;
      if (await confirmDelete(client, (item as CachedChoice).cached)) {
        quickPick.items = quickPick.items.filter((i) => i !== item);
      }
    });
    quickPick.onDidAccept(() => {
      resolve(quickPick.selectedItems[0]);
      quickPick.hide();
    });
    quickPick.onDidHide(() => {
      resolve(undefined);
      quickPick.dispose();
    });
    quickPick.show();
  });
}

/** `current` is the `localLlm.model` setting as it is now. */
export async function selectModel(client: LanguageClient | undefined, current: string): Promise<void> {
  const choices: ModelChoice[] = [
    ...(await serverChoices(client, current)),
    { label: '$(folder-opened) Choose a GGUF file…', detail: 'A model file already on this machine.', pick: () => pickFile(current) },
    {
      label: '$(cloud-download) Download from Hugging Face…',
      detail: 'Type an hf: URI or an https URL.',
      pick: () => typeReference(current),
    },
  ];
  if (current !== '') {
    choices.push({ label: '$(discard) Use the default model', detail: 'Clear the localLlm.model setting.', pick: async () => '' });
  }
  const chosen = await pickModel(
    client,
    choices,
    current ? `Current model: ${current}` : 'No model is set: the recommended preset is used',
  );
  if (!chosen) return;
  const value = await chosen.pick();
  if (value === undefined || value === current) return;
  const target = await writeSetting('model', value);
  const where = target === vscode.ConfigurationTarget.Workspace ? 'workspace' : 'user';
  vscode.window.setStatusBarMessage(`Local LLM: model set in the ${where} settings; loading it…`, 5000);
}
