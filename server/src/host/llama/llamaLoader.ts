// The llama (one llama.cpp backend) and the model loaded on it: the file's checks, a backend kept
// across loads of the same GPU choice, the failed loads that leave llama.cpp unable to dispose,
// and how long each phase of the last load took.
import * as path from 'node:path';
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { Backend } from '../../shared/protocol';
import type { GpuChoice } from '../../shared/settings';
import { EngineError, nativeMessage } from '../engineError';
import type { LoadParams, LoadResult } from '../../engine/types';
import type { SequenceKind } from '../../shared/stateFiles';
import { startLlama, type NodeLlamaCpp, type StartedLlama } from './backend';
import { ChatTurns } from './chatTurns';
import type { LoadedModel } from './loadedModel';
import { createSequenceLookup } from './lookupPredictor';
import { loadDraftModel, type DraftLoad } from './draftModel';
import { createDraftSwitch } from './draftSwitch';
import { checkModelFile, checkTensorData } from './modelFile';

/** How long the phases of the last load took; the benchmarks report them. */
export interface LoadTimings {
  /** null when the llama of the same backend was reused. */
  getLlamaMs: number | null;
  loadModelMs: number;
  createContextMs: number;
  /** The model file's checks (header, tensor data) and freeing the model before, getLlama left out. */
  checkMs: number;
}

interface LlamaState extends StartedLlama {
  requested: GpuChoice;
  /**
   * A native load or context creation failed on this llama. node-llama-cpp 3.21.1 then keeps a
   * dispose guard taken for the model (or context) it never finished, and once that object is
   * garbage collected, llama.dispose() waits for it forever (the host's shutdown hung until
   * SIGTERM). Such a llama is never awaited in dispose: the process exit frees it.
   */
  stuck: boolean;
}

/** Both sequences: a model that serves completions and chat (contextSize is per sequence, so the KV cache is twice that). */
const bothKinds: readonly SequenceKind[] = ['completion', 'chat'];
/** How long the model of a failed context creation gets to dispose before it is left to the process exit. */
const failedDisposeWaitMs = 2000;

function backendOf(llama: Llama): Backend {
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

export class LlamaLoader {
  /** node-llama-cpp, imported at once (see LlamaEngine's constructor). */
  readonly library: Promise<NodeLlamaCpp>;
  private importDurationMs: number | null = null;
  private llamaState: LlamaState | null = null;
  private timings: LoadTimings | null = null;

  constructor(
    private readonly log: (line: string) => void,
    private readonly draftConfidence?: number,
  ) {
    const started = performance.now();
    this.library = import('node-llama-cpp').then((lib) => {
      this.importDurationMs = performance.now() - started;
      return lib;
    });
  }

  /** How long importing node-llama-cpp took; null until it is done. */
  get importMs(): number | null {
    return this.importDurationMs;
  }

  get lastLoadTimings(): LoadTimings | null {
    return this.timings;
  }

  /** The backend of the current llama; null before the first load. */
  get backend(): Backend | null {
    const llama = this.llamaState?.llama;
    return llama && !llama.disposed ? backendOf(llama) : null;
  }

  /** The GPU's memory (the whole device, as llama.cpp reports it); null on the CPU or before the first load. */
  async vram(): Promise<{ used: number; total: number } | null> {
    const llama = this.llamaState?.llama;
    if (!llama || llama.disposed || llama.gpu === false) return null;
    const { used, total } = await llama.getVramState();
    return { used, total };
  }

  /**
   * Loads the model and creates its context. `unloadCurrent` frees the model loaded before: only
   * once the file passed its checks (a bad file is refused while that model keeps serving), and
   * before another backend replaces the llama (nothing may outlive the llama it came from).
   * `kinds`: the sequences the context holds; a model that serves one role (#25) gets one, which
   * the load then names for both (only its own role ever uses it).
   */
  async load(
    params: LoadParams,
    signal: AbortSignal,
    unloadCurrent: () => Promise<void>,
    kinds: readonly SequenceKind[] = bothKinds,
  ): Promise<LoadedModel> {
    const lib = await this.library;
    const started = performance.now();
    // LoadParams.threads is already resolved by the server (never 0): used as given.
    const { modelPath, threads } = params;
    const cancelled = (): EngineError => new EngineError(`Loading ${modelPath} was cancelled.`);
    if (signal.aborted) throw cancelled();
    const file = await checkModelFile(modelPath, lib, signal);
    if (this.llamaState?.requested !== params.gpu) await unloadCurrent();
    const llamaStarted = performance.now();
    const { llama, fallbackReason, reused } = await this.ensureLlama(params.gpu, threads, lib);
    const getLlamaMs = reused ? null : performance.now() - llamaStarted;
    await checkTensorData(modelPath, file, llama, lib);
    if (signal.aborted) throw cancelled();
    await unloadCurrent();

    const modelStarted = performance.now();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath, gpuLayers: params.gpuLayers, loadSignal: signal });
    } catch (err) {
      // Whatever failed, the library may hold a guard for the model it never finished.
      if (this.llamaState) this.llamaState.stuck = true;
      if (signal.aborted) throw cancelled();
      if (err instanceof lib.InsufficientMemoryError) {
        throw new EngineError(`There is not enough memory to load ${modelPath}; try fewer GPU layers or a smaller model.`);
      }
      throw new EngineError(`llama.cpp could not load ${modelPath}: ${nativeMessage(err)}.`);
    }
    const contextStarted = performance.now();
    let context: LlamaContext;
    try {
      context = await model.createContext({ contextSize: params.contextSize, sequences: kinds.length, threads, createSignal: signal });
    } catch (err) {
      if (this.llamaState) await this.disposeFailedModel(model, this.llamaState);
      if (signal.aborted) throw cancelled();
      if (err instanceof lib.InsufficientMemoryError) {
        throw new EngineError(
          `There is not enough memory for a context of ${params.contextSize} tokens (${kinds.length === 2 ? 'one each for completions and chat' : `for ${kinds[0] === 'chat' ? 'chat' : 'completions'}`}); try a smaller context size.`,
        );
      }
      throw new EngineError(`llama.cpp could not create a context of ${params.contextSize} tokens: ${nativeMessage(err)}.`);
    }
    const done = performance.now();
    this.timings = {
      getLlamaMs,
      loadModelMs: contextStarted - modelStarted,
      createContextMs: done - contextStarted,
      checkMs: modelStarted - started - (getLlamaMs ?? 0),
    };
    const drafting = await this.loadDraft(lib, llama, model, context, params, signal);
    // Drafts never change what is generated (each is verified by the model), so they are on unless turned off.
    const lookup = params.lookup === false ? null : { completion: createSequenceLookup(lib), chat: createSequenceLookup(lib) };
    // A draft model drafts for completions instead of prompt lookup, until it does not pay; chat keeps prompt lookup.
    if (lookup && drafting.draft) lookup.completion.enabled = false;
    const draftSwitch = drafting.draft ? createDraftSwitch(lib, drafting.draft.predictor, lookup?.completion ?? null) : null;
    const firstKind = kinds[0] ?? 'completion';
    const firstPredictor = firstKind === 'completion' ? (draftSwitch?.predictor ?? lookup?.completion.predictor) : lookup?.chat.predictor;
    const sequence = context.getSequence({ tokenPredictor: firstPredictor });
    const chatSequence = kinds.length > 1 ? context.getSequence({ tokenPredictor: lookup?.chat.predictor }) : sequence;
    const infill = model.tokens.infill;
    const result: LoadResult = {
      name: file.name !== null && file.name !== '' ? file.name : path.basename(modelPath, '.gguf'),
      sizeBytes: file.sizeBytes,
      backend: backendOf(llama),
      gpuLayers: model.gpuLayers,
      totalLayers: model.fileInsights.totalLayers,
      contextSize: context.contextSize,
      // As node-llama-cpp's own infill: a model without a middle token takes SUF suffix PRE prefix.
      hasFim: infill.prefix != null && infill.suffix != null,
      hasChatTemplate: typeof model.fileInfo.metadata.tokenizer?.chat_template === 'string',
      memoryBytes: model.size + context.stateSize,
      fallbackReason,
      ...(params.draftModelPath ? { draftModel: drafting.draft?.info ?? null, draftRefusal: drafting.refusal } : {}),
    };
    return {
      model,
      context,
      sequence,
      completion: new lib.LlamaCompletion({ contextSequence: sequence }),
      chatSequence,
      chat: null,
      chatTurns: new ChatTurns(chatSequence),
      result,
      keptBeforeLine: null,
      lookup,
      draft: drafting.draft,
      draftSwitch,
    };
  }

  /** The draft model asked for, loaded beside the model (draftModel.ts); a refusal is logged and the model serves alone. */
  private async loadDraft(
    lib: NodeLlamaCpp,
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
    params: LoadParams,
    signal: AbortSignal,
  ): Promise<DraftLoad | { draft: null; refusal: null }> {
    const draftPath = params.draftModelPath;
    if (!draftPath) return { draft: null, refusal: null };
    const started = performance.now();
    const confidence = this.draftConfidence;
    const input = { lib, llama, main: model, mainContext: context, params, draftPath, signal };
    const loaded = await loadDraftModel(confidence === undefined ? input : { ...input, minConfidence: confidence });
    if (loaded.failedNative && this.llamaState) this.llamaState.stuck = true;
    if (loaded.draft) {
      const ms = Math.round(performance.now() - started);
      this.log(
        `Draft model ${loaded.draft.info.name} loaded in ${ms} ms: it drafts for completions (prompt lookup is not used for them); chat keeps prompt lookup.`,
      );
    } else this.log(loaded.refusal);
    return loaded;
  }

  /**
   * Starts the llama of `gpu` before any load, only where that cannot touch a GPU: the CPU asked
   * for, or 'auto' where node-llama-cpp finds no GPU backend (it looks only at files then). A GPU
   * backend creates a device context in getLlama (518 MiB of VRAM on an H200), so it is left for
   * the load. Returns whether the llama was started.
   */
  async prestart(gpu: GpuChoice, threads: number): Promise<boolean> {
    const lib = await this.library;
    if (gpu !== 'cpu') {
      if (gpu !== 'auto') return false;
      const types = await lib.getLlamaGpuTypes('supported');
      if (types.some((type) => type !== false)) return false;
    }
    await this.ensureLlama(gpu, threads, lib);
    return true;
  }

  /** Frees the llama; its model is freed first by the caller. */
  async dispose(): Promise<void> {
    const state = this.llamaState;
    this.llamaState = null;
    if (state) await this.disposeLlama(state);
  }

  private async ensureLlama(gpu: GpuChoice, threads: number, lib: NodeLlamaCpp): Promise<LlamaState & { reused: boolean }> {
    const current = this.llamaState;
    if (current && current.requested === gpu && !current.llama.disposed) {
      current.llama.maxThreads = threads;
      return { ...current, reused: true };
    }
    this.llamaState = null;
    if (current) await this.disposeLlama(current);
    this.llamaState = { ...(await startLlama(lib, gpu, threads, this.log)), requested: gpu, stuck: false };
    return { ...this.llamaState, reused: false };
  }

  /** Disposes a llama, unless a failed load left it unable to finish disposing (see LlamaState.stuck). */
  private async disposeLlama(state: LlamaState): Promise<void> {
    if (!state.stuck) {
      await state.llama.dispose();
      return;
    }
    this.log('A failed model load left llama.cpp unable to dispose cleanly; its memory is freed when the model host exits.');
    // Disposes the models it still knows of; its own last step never ends, so nobody waits.
    void state.llama.dispose().catch(() => undefined);
  }

  /** Disposes a model whose context could not be made, without waiting forever on the same leak. */
  private async disposeFailedModel(model: LlamaModel, state: LlamaState): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gaveUp'>((resolve) => (timer = setTimeout(() => resolve('gaveUp'), failedDisposeWaitMs)));
    const outcome = await Promise.race([
      model.dispose().then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      gaveUp,
    ]);
    clearTimeout(timer);
    if (outcome === 'gaveUp') state.stuck = true;
  }
}
