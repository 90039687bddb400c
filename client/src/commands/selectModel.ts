// "Local LLM: Select Model": a local .gguf file or a model to download, written to the
// `localLlm.model` setting. The server reloads the model when the setting changes.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readSettings, writeSetting } from '../config';
import { checkModelReference } from '../modelReference';

interface ModelChoice extends vscode.QuickPickItem {
  pick: () => Promise<string | undefined>;
}

async function pickFile(current: string): Promise<string | undefined> {
  const folder = current && !current.startsWith('hf:') && !/^https?:/.test(current) ? vscode.Uri.file(path.dirname(current)) : undefined;
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
    value: current.startsWith('hf:') || /^https?:/.test(current) ? current : '',
    ignoreFocusOut: true,
    validateInput: (text) => checkModelReference(text),
  });
  return typed?.trim();
}

export async function selectModel(): Promise<void> {
  const current = readSettings().model;
  const choices: ModelChoice[] = [
    { label: '$(folder-opened) Choose a GGUF file…', detail: 'A model file already on this machine.', pick: () => pickFile(current) },
    { label: '$(cloud-download) Download from Hugging Face…', detail: 'Type an hf: URI or an https URL.', pick: () => typeReference(current) },
  ];
  if (current !== '') {
    choices.push({ label: '$(discard) Use the default model', detail: 'Clear the localLlm.model setting.', pick: async () => '' });
  }
  const chosen = await vscode.window.showQuickPick(choices, {
    title: 'Local LLM: Select Model',
    placeHolder: current ? `Current model: ${current}` : 'No model is set',
  });
  if (!chosen) return;
  const value = await chosen.pick();
  if (value === undefined || value === current) return;
  const target = await writeSetting('model', value);
  const where = target === vscode.ConfigurationTarget.Workspace ? 'workspace' : 'user';
  vscode.window.setStatusBarMessage(`Local LLM: model set in the ${where} settings; loading it…`, 5000);
}
