// "Local LLM: Select Model": first the job (completions, chat, or both), then a cached model, a
// preset (or, for both, a base + Instruct pair), a local .gguf file or a model to download, written
// to `localLlm.model` (completions) and `localLlm.chat.model` (chat); cached models can be deleted
// from here too. The server reloads the models when the settings change, keeping the old one if the
// new one is unusable, and refuses a model unfit for its job (no FIM tokens for completions, no chat
// template for chat) with a sentence; nothing is refused here.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DeleteModelRequest, ListModelsRequest, type CachedModel, type ListModelsResult } from '../../../server/src/shared/protocol';
import { formatBytes } from '../../../server/src/shared/format';
import { isRemoteModelRef, parseModelRef } from '../../../server/src/shared/modelRef';
import { settingsSection, writeSetting } from '../config';
import { errorMessage } from '../../../server/src/shared/errors';
import { baseModelFor, useBaseModelArgument } from '../status/baseModelSuggestion';
import {
  defaultChatModel,
  keepChat,
  parseSelectRequest,
  presetFitsRole,
  valueForRole,
  type CurrentModels,
  type ModelChoiceValue,
  type ModelRole,
} from './modelRoles';

interface ModelChoice extends vscode.QuickPickItem {
  pick: () => Promise<ModelChoiceValue | undefined>;
}

/** The two model settings as VS Code merges them; `model` is the normalized localLlm.model. */
export function currentModels(model: string): CurrentModels {
  const chat = vscode.workspace.getConfiguration(settingsSection).get<unknown>('chat.model');
  return { model, chatModel: typeof chat === 'string' ? chat.trim() : '' };
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

async function listModels(client: LanguageClient | undefined): Promise<ListModelsResult | null> {
  if (!client) return null;
  try {
    return await client.sendRequest(ListModelsRequest.type);
  } catch {
    return null;
  }
}

/** Cached models, pairs (for both jobs) and presets; an empty list when no server runs (the other choices still work). */
function serverChoices(listing: ListModelsResult | null, role: ModelRole, current: string): ModelChoice[] {
  if (!listing) return [];
  const choices: ModelChoice[] = [];
  const recommendedPairId = listing.recommendedPairId ?? null;
  if (role === 'both' && listing.pairs?.length) {
    choices.push({
      label: 'Pairs: a base model for completions, an Instruct model for chat',
      kind: vscode.QuickPickItemKind.Separator,
      pick: async () => undefined,
    });
    for (const pair of listing.pairs) {
      const recommended = pair.id === recommendedPairId;
      choices.push({
        label: `$(${recommended ? 'star-full' : 'layers'}) ${pair.label}`,
        description: `${formatBytes(pair.sizeBytes)}${recommended ? ' · recommended for this machine' : ''}`,
        detail: pair.detail,
        pick: async () => ({ model: pair.completion.uri, chatModel: pair.chat.uri }),
      });
    }
  }
  if (listing.cached.length) choices.push({ label: 'Downloaded', kind: vscode.QuickPickItemKind.Separator, pick: async () => undefined });
  for (const cached of listing.cached) {
    const inUse = cached.source === current || cached.path === current;
    const item: CachedChoice = {
      label: `$(database) ${cached.name}`,
      description: `${formatBytes(cached.sizeBytes)}${inUse ? ' · in use' : ''}`,
      detail: cached.source ?? cached.path,
      buttons: inUse ? [] : [deleteButton],
      cached,
      pick: async () => valueForRole(role, cached.source ?? cached.path),
    };
    choices.push(item);
  }
  const presets = listing.presets.filter((p) => presetFitsRole(p, role));
  choices.push({
    label: role === 'both' ? 'Presets: one model for both jobs' : 'Presets',
    kind: vscode.QuickPickItemKind.Separator,
    pick: async () => undefined,
  });
  for (const preset of presets) {
    // The star goes to what this machine is given for the role: the recommended pair's member, or the one model.
    const recommended = preset.detail.startsWith('Recommended') && (role !== 'both' || recommendedPairId === null);
    choices.push({
      label: `$(${recommended ? 'star-full' : 'sparkle'}) ${preset.label}`,
      description: `${formatBytes(preset.sizeBytes)}${recommended ? ' · recommended for this machine' : ''}`,
      detail: preset.detail,
      pick: async () => valueForRole(role, preset.uri),
    });
  }
  return choices;
}

/** Shows the picker; resolves with the chosen item, or undefined when dismissed. */
function pickModel(
  client: LanguageClient | undefined,
  choices: ModelChoice[],
  placeholder: string,
  roleTitle: string,
): Promise<ModelChoice | undefined> {
  return new Promise((resolve) => {
    const quickPick = vscode.window.createQuickPick<ModelChoice>();
    quickPick.title = `Local LLM: Select Model · ${roleTitle}`;
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

const roleTitles: Record<ModelRole, string> = {
  both: 'Completions and chat',
  completion: 'Completions',
  chat: 'Chat',
};

interface RoleItem extends vscode.QuickPickItem {
  role: ModelRole;
}

/** Which job the model is chosen for; undefined when dismissed. */
async function pickRole(current: CurrentModels): Promise<ModelRole | undefined> {
  const shown = (value: string): string => value || 'the default';
  const chat = current.chatModel || (current.model ? 'the completion model' : 'the default');
  const items: RoleItem[] = [
    {
      role: 'both',
      label: `$(layers) ${roleTitles.both}`,
      description: 'a base + Instruct pair, or one model for both',
      detail: current.chatModel ? `Now: ${shown(current.model)} and ${current.chatModel}` : `Now: ${shown(current.model)} for both`,
    },
    {
      role: 'completion',
      label: `$(symbol-snippet) ${roleTitles.completion}`,
      description: 'localLlm.model',
      detail: `Now: ${shown(current.model)}`,
    },
    { role: 'chat', label: `$(comment-discussion) ${roleTitles.chat}`, description: 'localLlm.chat.model', detail: `Now: ${chat}` },
  ];
  const chosen = await vscode.window.showQuickPick(items, {
    title: 'Local LLM: Select Model',
    placeHolder: 'Choose a model for which job?',
    matchOnDescription: true,
  });
  return chosen?.role;
}

/** The last choices for a role: a file, a download, and going back to the default. */
function otherChoices(role: ModelRole, current: CurrentModels): ModelChoice[] {
  const currentText = role === 'chat' ? current.chatModel || current.model : current.model;
  const choices: ModelChoice[] = [
    {
      label: '$(folder-opened) Choose a GGUF file…',
      detail: 'A model file already on this machine.',
      pick: async () => {
        const file = await pickFile(currentText);
        return file === undefined ? undefined : valueForRole(role, file);
      },
    },
    {
      label: '$(cloud-download) Download from Hugging Face…',
      detail: 'Type an hf: URI or an https URL.',
      pick: async () => {
        const typed = await typeReference(currentText);
        return typed === undefined ? undefined : valueForRole(role, typed);
      },
    },
  ];
  if (role === 'chat' && current.chatModel !== '') {
    choices.push({
      label: '$(discard) Chat with the completion model',
      detail: 'Clear the localLlm.chat.model setting.',
      pick: async () => ({ chatModel: '' }),
    });
  }
  if (role === 'completion' && current.model !== '') {
    choices.push({
      label: '$(discard) Use the default model',
      detail: 'Clear the localLlm.model setting.',
      pick: async () => ({ model: '' }),
    });
  }
  if (role === 'both' && (current.model !== '' || current.chatModel !== '')) {
    choices.push({
      label: '$(discard) Use the default models',
      detail: 'Clear localLlm.model and localLlm.chat.model: the models recommended for this machine are used.',
      pick: async () => ({ model: '', chatModel: '' }),
    });
  }
  return choices;
}

function placeholderFor(role: ModelRole, current: CurrentModels, listing: ListModelsResult | null): string {
  const reason = listing?.recommendationReason ? ` ${listing.recommendationReason}` : '';
  if (role === 'chat') return current.chatModel ? `Chat model now: ${current.chatModel}` : 'Chat uses the completion model now';
  if (role === 'completion')
    return current.model ? `Completion model now: ${current.model}` : 'No model is set: the recommended preset is used';
  return current.model || current.chatModel
    ? `Now: ${current.model || 'the default'} + ${current.chatModel || 'the same for chat'}.${reason}`
    : `No model is set: the recommended ones are used.${reason}`;
}

/** Writes the chosen settings, chat first so that a new completion model never loads beside a stale chat choice. */
export async function writeModels(value: ModelChoiceValue, current: CurrentModels): Promise<string[]> {
  const written: string[] = [];
  let target: vscode.ConfigurationTarget | undefined;
  if (value.chatModel !== undefined && value.chatModel !== current.chatModel) {
    target = await writeSetting('chat.model', value.chatModel);
    written.push('chat');
  }
  if (value.model !== undefined && value.model !== current.model) {
    target = await writeSetting('model', value.model);
    written.push('completions');
  }
  if (target !== undefined) {
    const where = target === vscode.ConfigurationTarget.Workspace ? 'workspace' : 'user';
    vscode.window.setStatusBarMessage(`Local LLM: model for ${written.join(' and ')} set in the ${where} settings; loading it…`, 5000);
  }
  return written;
}

/**
 * The tooltip's suggestion for an Instruct model in localLlm.model: the base model of its size for
 * completions, the Instruct model kept for chat. The server asks before it downloads, as for every
 * download. Returns whether the settings were written.
 */
export async function useBaseModelForCompletions(client: LanguageClient | undefined, current: CurrentModels): Promise<boolean> {
  const listing = await listModels(client);
  const base = listing ? baseModelFor(current.model, listing.presets) : null;
  if (!base) {
    void vscode.window.showWarningMessage(
      'Local LLM: the list of base models is not available while the server is not running. Try again when it runs.',
    );
    return false;
  }
  await writeModels({ model: base.uri, chatModel: current.chatModel || current.model }, current);
  return true;
}

/**
 * `current` holds the two model settings as they are now; `request` is the command's argument: the
 * tooltip's suggestion, or a job and a model to set without pickers (see parseSelectRequest).
 */
export async function selectModel(client: LanguageClient | undefined, current: CurrentModels, request?: unknown): Promise<void> {
  if (request === useBaseModelArgument) {
    await useBaseModelForCompletions(client, current);
    return;
  }
  const direct = parseSelectRequest(request);
  if (typeof direct === 'string') {
    void vscode.window.showErrorMessage(`Local LLM: ${direct}`);
    return;
  }
  if (direct) {
    const value = valueForRole(direct.role, direct.model);
    const defaultChat = direct.role === 'completion' && current.model === '' ? defaultChatModel(await listModels(client)) : null;
    await writeModels(direct.role === 'completion' ? keepChat(value, current, defaultChat) : value, current);
    return;
  }
  const role = await pickRole(current);
  if (!role) return;
  const listing = await listModels(client);
  const currentText = role === 'chat' ? current.chatModel : current.model;
  const otherSeparator: ModelChoice = { label: 'Other', kind: vscode.QuickPickItemKind.Separator, pick: async () => undefined };
  const choices: ModelChoice[] = [
    ...serverChoices(listing, role, currentText),
    ...(listing ? [otherSeparator] : []),
    ...otherChoices(role, current),
  ];
  const chosen = await pickModel(client, choices, placeholderFor(role, current, listing), roleTitles[role]);
  if (!chosen) return;
  const value = await chosen.pick();
  if (value === undefined) return;
  await writeModels(role === 'completion' ? keepChat(value, current, defaultChatModel(listing)) : value, current);
}
