// #25: one model for completions and another for chat, in one host. Which file serves which
// role, in which order they load (the one the waking request needs first, the other behind it),
// and what each role's last load said, so that a load can answer once its first model is ready.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ChatModelResult, LoadParams, LoadResult } from '../../engine/types';
import type { SequenceKind } from '../../shared/stateFiles';

/** Two models, in the order they load. */
export interface RolePlan {
  first: SequenceKind;
  second: SequenceKind;
  paths: Record<SequenceKind, string>;
}

/** The plan of a load with a chat model of its own; null when one model serves both roles. */
export function rolePlan(params: LoadParams): RolePlan | null {
  const chatPath = params.chatModelPath;
  if (!chatPath || chatPath === params.modelPath) return null;
  const first: SequenceKind = params.first === 'chat' ? 'chat' : 'completion';
  return {
    first,
    second: first === 'chat' ? 'completion' : 'chat',
    paths: { completion: params.modelPath, chat: chatPath },
  };
}

/** The chat model's part of a result: what the completion's result says of its own model, less the load's notes. */
export function chatPart(result: LoadResult): ChatModelResult {
  const info: ChatModelResult & Partial<Pick<LoadResult, 'fallbackReason' | 'chatModel'>> = { ...result };
  delete info.fallbackReason;
  delete info.chatModel;
  return info;
}

/** What decides that a role's last result still describes its load: the file as it is and the host's settings. */
async function resultKey(kind: SequenceKind, params: LoadParams, modelPath: string): Promise<string | null> {
  try {
    const { size, mtimeMs } = await stat(modelPath);
    return JSON.stringify([kind, modelPath, size, mtimeMs, params.gpu, params.gpuLayers, params.contextSize, params.threads]);
  } catch {
    return null;
  }
}

/** A stored result, checked for the fields the answer uses (the file is the user's). */
function asResult(value: unknown): LoadResult | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Partial<Record<keyof LoadResult, unknown>>;
  const ok =
    typeof r.name === 'string' &&
    typeof r.backend === 'string' &&
    typeof r.hasFim === 'boolean' &&
    typeof r.sizeBytes === 'number' &&
    typeof r.gpuLayers === 'number' &&
    typeof r.totalLayers === 'number' &&
    typeof r.contextSize === 'number';
  return ok ? (value as LoadResult) : null;
}

/** Results kept in the state folder: a few, the newest last. */
const keptResults = 8;
const resultsFile = (stateDir: string): string => path.join(stateDir, 'role-results.json');

/**
 * The last result of each role's load, by file and host settings: a wake answers with the role
 * that is still loading as it was last time, so nobody waits for it. Kept in the state folder as
 * well, so that a new host after a deep sleep answers the same way; a result whose file or
 * settings changed is never used.
 */
export class RoleResults {
  private readonly results = new Map<string, LoadResult>();

  async remember(kind: SequenceKind, params: LoadParams, modelPath: string, result: LoadResult): Promise<void> {
    const key = await resultKey(kind, params, modelPath);
    if (key === null) return;
    this.results.set(key, result);
    if (!params.stateDir) return;
    try {
      await mkdir(params.stateDir, { recursive: true, mode: 0o700 });
      const stored = await this.read(params.stateDir);
      stored.delete(key);
      stored.set(key, result);
      const entries = [...stored].slice(-keptResults);
      const file = resultsFile(params.stateDir);
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(Object.fromEntries(entries)), { mode: 0o600 });
      await rename(temporary, file);
    } catch {
      // Only the answer of a later wake is lost: it then waits for both models.
    }
  }

  async known(kind: SequenceKind, params: LoadParams, modelPath: string): Promise<LoadResult | null> {
    const key = await resultKey(kind, params, modelPath);
    if (key === null) return null;
    const held = this.results.get(key);
    if (held) return held;
    if (!params.stateDir) return null;
    return (await this.read(params.stateDir)).get(key) ?? null;
  }

  private async read(stateDir: string): Promise<Map<string, LoadResult>> {
    const map = new Map<string, LoadResult>();
    try {
      const parsed: unknown = JSON.parse(await readFile(resultsFile(stateDir), 'utf8'));
      if (typeof parsed !== 'object' || parsed === null) return map;
      for (const [key, value] of Object.entries(parsed)) {
        const result = asResult(value);
        if (result) map.set(key, result);
      }
    } catch {
      // None yet, or unreadable: nothing is known.
    }
    return map;
  }
}
