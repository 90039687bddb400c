// Shared steps of the integration suite: the extension's API, and waiting for states through it.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { LocalLlmApi } from '../../../client/src/api';
import type { ClientState } from '../../../client/src/api';
import type { ModelState, ModelStatus } from '../../../server/src/shared/protocol';

export const extensionId = 'local-llm.local-llm';

export function extension(): vscode.Extension<LocalLlmApi> {
  const ext = vscode.extensions.getExtension<LocalLlmApi>(extensionId);
  assert.ok(ext, `The extension ${extensionId} is not loaded.`);
  return ext;
}

export async function api(): Promise<LocalLlmApi> {
  return extension().activate();
}

/** Resolves with the first status (the current one included) that satisfies `accept`. */
export function waitForStatus(
  llm: LocalLlmApi,
  accept: (s: ModelStatus) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<ModelStatus> {
  const now = llm.getStatus();
  if (now && accept(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(
        new Error(
          `No ${what} within ${timeoutMs / 1000} s; the model is ${llm.getStatus()?.state ?? 'unknown'} (${llm.getStatus()?.error ?? 'no error'}).`,
        ),
      );
    }, timeoutMs);
    const sub = llm.onDidChangeStatus((s) => {
      if (!accept(s)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(s);
    });
  });
}

export function waitForState(llm: LocalLlmApi, state: ModelState, timeoutMs?: number): Promise<ModelStatus> {
  return waitForStatus(llm, (s) => s.state === state, `"${state}" state`, timeoutMs);
}

/**
 * Sleep Now, asked again until the model stays asleep. A request VS Code still makes for an open
 * editor (an automatic completion after a commit, say) may arrive while the sleep drains; it
 * waits at the gate and wakes the model right after, as every request does.
 */
export async function sleepUntilAsleep(llm: LocalLlmApi): Promise<ModelStatus> {
  const woken: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const slept = await llm.sleep();
    const now = llm.getStatus();
    if (slept.state === 'sleeping' && now?.state === 'sleeping') return now;
    woken.push(`attempt ${attempt}: Sleep Now answered "${slept.state}", then the status said "${now?.state ?? 'nothing'}"`);
    assert.ok(attempt < 5, `The model did not stay asleep: ${woken.join('; ')}.`);
    await waitForState(llm, 'ready');
  }
}

export function waitForClientState(llm: LocalLlmApi, state: ClientState, timeoutMs = 60_000): Promise<void> {
  if (llm.getClientState() === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`The client did not become ${state} within ${timeoutMs / 1000} s; it is ${llm.getClientState()}.`));
    }, timeoutMs);
    const sub = llm.onDidChangeClientState((s) => {
      if (s !== state) return;
      clearTimeout(timer);
      sub.dispose();
      resolve();
    });
  });
}

/** Every model state pushed while it runs. */
export function recordStates(llm: LocalLlmApi): { states: ModelState[]; dispose(): void } {
  const states: ModelState[] = [];
  const sub = llm.onDidChangeStatus((s) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  return { states, dispose: () => sub.dispose() };
}

export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'The harness must open a workspace folder.');
  return vscode.Uri.joinPath(folder.uri, name);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
