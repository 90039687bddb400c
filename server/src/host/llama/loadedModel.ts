// One load of the model: what node-llama-cpp made for it (llamaLoader.ts). The context has two
// sequences, each with its own KV cache of contextSize tokens: completions on one, chat on the
// other, so neither evicts the other's cache. Nothing else keeps a reference, so an unload frees
// it all.
import type { LlamaChat, LlamaCompletion, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp' with {
  'resolution-mode': 'import',
};
import type { LoadResult } from '../../engine/types';
import type { SequenceKind } from '../../shared/stateFiles';
import type { ChatTurns } from './chatTurns';
import type { SequenceLookup } from './lookupPredictor';
import { disposeDraft, type LoadedDraft } from './draftModel';
import type { DraftSwitch } from './draftSwitch';

export interface LoadedModel {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  /** The completion's sequence; its KV holds the last completion's prompt. */
  readonly sequence: LlamaContextSequence;
  readonly completion: LlamaCompletion;
  readonly chatSequence: LlamaContextSequence;
  /** Made on the first chat turn: resolving the chat template costs ~300 ms that a wake for a completion need not pay. */
  chat: LlamaChat | null;
  /** #24: which conversation the chat sequence holds, by its exact tokens (saved with its state), and the follow-ups that continue it. */
  readonly chatTurns: ChatTurns;
  readonly result: LoadResult;
  /**
   * The text before the cursor line that the completion sequence's prompt was cut at (see
   * cutBeforeLine); a saved completion state keeps it, so the cut stays put across a restore.
   */
  keptBeforeLine: string | null;
  /** Each sequence's prompt-lookup drafts; null when localLlm.completion.lookup is off. */
  readonly lookup: Record<SequenceKind, SequenceLookup> | null;
  /** The draft model that drafts for the completion sequence (draftModel.ts); null when none. */
  readonly draft: LoadedDraft | null;
  /** The completion sequence's predictor with a draft model, which turns it off when it does not pay; null when none. */
  readonly draftSwitch: DraftSwitch | null;
}

/** The sequence of `kind` in a load. */
export function sequenceIn(loaded: LoadedModel, kind: SequenceKind): LlamaContextSequence {
  return kind === 'completion' ? loaded.sequence : loaded.chatSequence;
}

/** Frees what the load made, users before what they use: chat and completion, sequences, context, model. */
export async function disposeLoadedModel(loaded: LoadedModel): Promise<void> {
  loaded.chat?.dispose({ disposeSequence: false });
  loaded.chatTurns.dispose();
  loaded.completion.dispose({ disposeSequence: false });
  loaded.sequence.dispose();
  // A model that serves one role has one sequence, named for both (llamaLoader.ts).
  if (loaded.chatSequence !== loaded.sequence) loaded.chatSequence.dispose();
  if (loaded.draft) await disposeDraft(loaded.draft);
  await loaded.context.dispose();
  await loaded.model.dispose();
}
