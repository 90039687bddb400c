// Sequence state kept across sleep: each context sequence's KV cache saved to <dir>/<key>-<kind>.bin
// by node-llama-cpp, with a record (<key>-<kind>.json) of what it belongs to. A state file is
// loaded only when its record matches the model file, context size and library version of the
// load, and its size is the one recorded; anything else is deleted. Files are private (0600 in a
// 0700 folder) and capped in total size, oldest first. No node-llama-cpp here. The files' names,
// and their removal when a model is deleted, are shared with the server (shared/stateFiles.ts).
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { recordOf, removeState, type SequenceKind } from '../shared/stateFiles';
import type { ChatTokenRecord } from './llama/chatTokens';

/** What a state file belongs to: the model file as it was when the state was saved. */
export interface ModelIdentity {
  modelPath: string;
  modelSize: number;
  modelMtimeMs: number;
}

export interface StateRecord extends ModelIdentity {
  format: 1;
  kind: SequenceKind;
  /** Tokens per sequence of the context that saved it. */
  contextSize: number;
  /** node-llama-cpp's version: its state format is its own. */
  engineVersion: string;
  tokenCount: number;
  /** Size of the .bin file as written. */
  bytes: number;
  /** The completion's kept text before the cursor line (see cutBeforeLine); null for chat. */
  keptBeforeLine: string | null;
  /** #24: the conversation the chat's tokens hold (chatTokens.ts); absent or null: a follow-up is evaluated in full. */
  chat?: ChatTokenRecord | null;
}

const format = 1;

export async function modelIdentity(modelPath: string): Promise<ModelIdentity> {
  const info = await stat(modelPath);
  return { modelPath: path.resolve(modelPath), modelSize: info.size, modelMtimeMs: info.mtimeMs };
}

/** The state folder, private to the user. */
export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Writes `text` to `file` atomically (a temporary file renamed over it), mode 0600. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

export function writeStateRecord(base: string, record: StateRecord): Promise<void> {
  return writePrivateFile(recordOf(base), JSON.stringify(record));
}

/** The record of a saved state; null when there is none. Throws when it is unreadable or not a record. */
export async function readStateRecord(base: string): Promise<StateRecord | null> {
  let text: string;
  try {
    text = await readFile(recordOf(base), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const record = JSON.parse(text) as Partial<StateRecord>;
  if (record.format !== format || typeof record.bytes !== 'number' || typeof record.modelPath !== 'string') {
    throw new Error('the record is not one this version wrote');
  }
  return record as StateRecord;
}

/** Why a record does not fit the load; null when it does. */
export function recordMismatch(
  record: StateRecord,
  expected: ModelIdentity & { contextSize: number; engineVersion: string; kind: SequenceKind },
): string | null {
  if (record.kind !== expected.kind) return `it holds a ${record.kind} sequence, not a ${expected.kind} one`;
  if (record.modelPath !== expected.modelPath || record.modelSize !== expected.modelSize || record.modelMtimeMs !== expected.modelMtimeMs) {
    return `it belongs to another model file (${record.modelPath}, ${record.modelSize} bytes, modified ${new Date(record.modelMtimeMs).toISOString()})`;
  }
  if (record.contextSize !== expected.contextSize)
    return `it comes from a context of ${record.contextSize} tokens, not ${expected.contextSize}`;
  if (record.engineVersion !== expected.engineVersion)
    return `it was written by node-llama-cpp ${record.engineVersion}, not ${expected.engineVersion}`;
  return null;
}

interface Saved {
  base: string;
  bytes: number;
  mtimeMs: number;
}

async function savedStates(dir: string): Promise<Saved[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const saved: Saved[] = [];
  for (const name of names) {
    if (!name.endsWith('.bin')) continue;
    try {
      const info = await stat(path.join(dir, name));
      saved.push({ base: path.join(dir, name.slice(0, -'.bin'.length)), bytes: info.size, mtimeMs: info.mtimeMs });
    } catch {
      // Gone meanwhile.
    }
  }
  return saved;
}

/** Removes the oldest states until the rest fit in `capBytes`; returns the bases removed. */
export async function pruneStates(dir: string, capBytes: number): Promise<string[]> {
  const saved = (await savedStates(dir)).sort((a, b) => b.mtimeMs - a.mtimeMs);
  const removed: string[] = [];
  let total = 0;
  for (const s of saved) {
    if (total + s.bytes > capBytes) {
      await removeState(s.base);
      removed.push(s.base);
    } else total += s.bytes;
  }
  return removed;
}
