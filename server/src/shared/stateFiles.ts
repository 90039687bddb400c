// Where the sequences' state kept across sleep lives, and how a model's state files are named and
// removed: the model host writes them (host/sequenceState.ts), the language server removes those
// of a deleted model (models/cache.ts). Pure node: no node-llama-cpp.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';

/** The state folder under the extension's storage. */
export const stateDirOf = (storageDir: string): string => path.join(storageDir, 'state');

export type SequenceKind = 'completion' | 'chat';

/** <dir>/<hash of the model path>-<kind>, without extension. */
export function stateBase(dir: string, modelPath: string, kind: SequenceKind): string {
  const key = createHash('sha256').update(path.resolve(modelPath)).digest('hex').slice(0, 16);
  return path.join(dir, `${key}-${kind}`);
}

export const binOf = (base: string): string => `${base}.bin`;
export const recordOf = (base: string): string => `${base}.json`;

export async function removeState(base: string): Promise<void> {
  await Promise.all([rm(binOf(base), { force: true }), rm(recordOf(base), { force: true })]);
}

/** Removes every saved state of the model at `modelPath` (its model was deleted). */
export async function removeStatesOf(dir: string, modelPath: string): Promise<void> {
  await Promise.all((['completion', 'chat'] as const).map((kind) => removeState(stateBase(dir, modelPath, kind))));
}
