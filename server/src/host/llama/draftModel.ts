// The draft model (localLlm.completion.draftModel): a small model with the main model's vocabulary,
// loaded on the same llama beside it, whose sequence drafts the completion sequence's next tokens
// (node-llama-cpp's DraftSequenceTokenPredictor); the main model verifies each draft in one batch,
// so the text is what it would have been without it. It belongs to one load of the main model:
// made with it, freed with it (a light sleep), gone with the host (a deep sleep).
// A draft model that cannot be used is refused in one sentence and the main model serves alone.
import * as path from 'node:path';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, TokenPredictor } from 'node-llama-cpp' with {
  'resolution-mode': 'import',
};
import type { DraftModelInfo } from '../../shared/protocol';
import type { LoadParams } from '../../engine/types';
import { errorMessage } from '../../shared/errors';
import { nativeMessage } from '../engineError';
import type { NodeLlamaCpp } from './backend';
import { vocabularyMismatch, type VocabularyPrint } from './draftVocabulary';
import { checkModelFile, checkTensorData } from './modelFile';

/**
 * Drafts at most this many tokens ahead, and only while the draft model is this sure of each
 * (llama-server's defaults are 16 and 0.75; node-llama-cpp's 16 and 0.6). Shorter drafts: a
 * completion is 16 to 64 tokens, and a refused draft costs its batch. The model waits for the
 * draft's first token (or its first unsure one), then takes what is drafted by then: with
 * node-llama-cpp's default of not waiting, a busy CPU left nearly every step undrafted, and
 * waiting for the whole draft (minTokens = maxTokens) hung node-llama-cpp 3.21.1's predictor once
 * a whole draft was accepted.
 */
export const draftOptions = { minTokens: 1, maxTokens: 8, minConfidence: 0.6 } as const;

export interface LoadedDraft {
  readonly model: LlamaModel;
  readonly context: LlamaContext;
  readonly sequence: LlamaContextSequence;
  /** Attach to the completion sequence on getSequence({ tokenPredictor }). */
  readonly predictor: TokenPredictor;
  readonly info: DraftModelInfo;
}

export type DraftLoad =
  | { draft: LoadedDraft; refusal: null; failedNative: false }
  /** failedNative: llama.cpp failed inside a load on this llama (LlamaLoader marks it stuck). */
  | { draft: null; refusal: string; failedNative: boolean };

export interface DraftLoadInput {
  lib: NodeLlamaCpp;
  llama: Llama;
  main: LlamaModel;
  mainContext: LlamaContext;
  params: LoadParams;
  draftPath: string;
  signal: AbortSignal;
  /** draftOptions.minConfidence unless set (tests: random weights are never sure). */
  minConfidence?: number;
}

/** The vocabulary of a loaded model, as vocabularyMismatch compares it. */
export function vocabularyOf(model: LlamaModel): VocabularyPrint {
  const tokens = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  const { infill } = model.tokens;
  return {
    type: String(model.vocabularyType),
    tokenCount: Array.isArray(tokens) ? tokens.length : 0,
    special: {
      bos: model.tokens.bos,
      eos: model.tokens.eos,
      eot: model.tokens.eot,
      fimPrefix: infill.prefix,
      fimSuffix: infill.suffix,
      fimMiddle: infill.middle,
    },
  };
}

/** The sentence for a draft model that is not used; `why` ends it. */
function refused(draftPath: string, why: string, failedNative = false): DraftLoad {
  return {
    draft: null,
    refusal: `The draft model ${path.basename(draftPath)} is not used: ${why}; completions are served without it.`,
    failedNative,
  };
}

/** llama.cpp's own check that two contexts can draft for each other (token texts, BOS/EOS); internal to node-llama-cpp 3.21.1. */
function llamaCppMismatch(main: LlamaContext, draft: LlamaContext): string | null {
  type Native = { _ctx?: { ensureDraftContextIsCompatibleForSpeculative?: (other: unknown) => void } };
  const mainCtx = (main as unknown as Native)._ctx;
  const draftCtx = (draft as unknown as Native)._ctx;
  if (typeof mainCtx?.ensureDraftContextIsCompatibleForSpeculative !== 'function') return null;
  try {
    mainCtx.ensureDraftContextIsCompatibleForSpeculative(draftCtx);
    return null;
  } catch (err) {
    return nativeMessage(err);
  }
}

/**
 * Loads the draft model beside `main` and makes its predictor; never throws for the draft model
 * itself (a bad file, another vocabulary, too little memory): it is refused with a sentence and
 * whatever was made for it is freed.
 */
export async function loadDraftModel(input: DraftLoadInput): Promise<DraftLoad> {
  const { lib, llama, main, mainContext, params, draftPath, signal } = input;
  let file;
  try {
    file = await checkModelFile(draftPath, lib, signal);
    await checkTensorData(draftPath, file, llama, lib);
  } catch (err) {
    // checkModelFile's sentence starts "The model file <path> ": here it is the draft's file.
    const sentence = errorMessage(err).replace(`The model file ${draftPath} `, 'the file ');
    return refused(draftPath, sentence.replace(/[.\s]+$/, ''));
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: draftPath, gpuLayers: params.gpuLayers, loadSignal: signal });
  } catch (err) {
    return refused(draftPath, `llama.cpp could not load it (${nativeMessage(err)})`, true);
  }
  const mismatch = vocabularyMismatch(vocabularyOf(main), vocabularyOf(model));
  if (mismatch !== null) {
    await model.dispose();
    return refused(draftPath, `its vocabulary is not the model's (it ${mismatch})`);
  }
  let context: LlamaContext;
  try {
    // The draft follows the completion sequence, so it needs as many tokens as one sequence holds.
    context = await model.createContext({ contextSize: params.contextSize, sequences: 1, threads: params.threads, createSignal: signal });
  } catch (err) {
    await model.dispose();
    return refused(draftPath, `llama.cpp could not create its context (${nativeMessage(err)})`);
  }
  const native = llamaCppMismatch(mainContext, context);
  if (native !== null) {
    await context.dispose();
    await model.dispose();
    // llama.cpp's sentence quotes both token texts, which may be a line break or a lone byte.
    const differs = /token (\d+) content differs/.exec(native);
    return refused(draftPath, `its vocabulary is not the model's (${differs ? `token ${differs[1]} is another text` : native})`);
  }
  const sequence = context.getSequence();
  const { minTokens, maxTokens } = draftOptions;
  const minConfidence = input.minConfidence ?? draftOptions.minConfidence;
  const predictor = new lib.DraftSequenceTokenPredictor(sequence, { minTokens, maxTokens, minConfidence });
  const memory = model.memoryUsage.ram + model.memoryUsage.vram + context.memoryUsage.ram + context.memoryUsage.vram;
  const info: DraftModelInfo = {
    name: file.name !== null && file.name !== '' ? file.name : path.basename(draftPath, '.gguf'),
    path: draftPath,
    sizeBytes: file.sizeBytes,
    memoryBytes: memory,
    gpuLayers: model.gpuLayers,
  };
  return { draft: { model, context, sequence, predictor, info }, refusal: null, failedNative: false };
}

/** Frees the draft model; the completion sequence it drafted for is disposed first (that disposes the predictor). */
export async function disposeDraft(draft: LoadedDraft): Promise<void> {
  draft.predictor.dispose();
  draft.sequence.dispose();
  await draft.context.dispose();
  await draft.model.dispose();
}
