// What the model host saved of its sequences before a sleep (host/sequenceState.ts): each kind's
// tokens and file size, read from the state folder of a server's storage while the model sleeps.
import { readFileSync, statSync } from 'node:fs';
import { binOf, recordOf, stateBase, stateDirOf, type SequenceKind } from '../../server/src/shared/stateFiles';

export interface SavedState {
  kind: SequenceKind;
  /** Tokens the sequence held (the state record's tokenCount). */
  tokens: number;
  /** Size of the state file on disk. */
  bytes: number;
  bytesPerToken: number;
}

/** The saved state of `kind` for `modelPath` under `storageDir`; null when there is none. */
export function savedState(storageDir: string, modelPath: string, kind: SequenceKind): SavedState | null {
  const base = stateBase(stateDirOf(storageDir), modelPath, kind);
  try {
    const record = JSON.parse(readFileSync(recordOf(base), 'utf8')) as { tokenCount?: unknown };
    const bytes = statSync(binOf(base)).size;
    const tokens = typeof record.tokenCount === 'number' ? record.tokenCount : Number.NaN;
    return { kind, tokens, bytes, bytesPerToken: Math.round(bytes / tokens) };
  } catch {
    return null;
  }
}

/** "85.3 MiB for 3120 tokens (28 KiB a token)", or why there is none. */
export function describeState(state: SavedState | null): string {
  if (state === null) return 'none saved';
  return `${(state.bytes / 2 ** 20).toFixed(1)} MiB for ${state.tokens} tokens (${(state.bytesPerToken / 1024).toFixed(1)} KiB a token)`;
}
