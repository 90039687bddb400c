// The llama (one llama.cpp backend) and the model loaded on it: the file's checks, a backend kept
// across loads of the same GPU choice, the failed loads that leave llama.cpp unable to dispose,
// and how long each phase of the last load took.
import * as path from 'node:path';
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { Backend } from '../../shared/protocol';
import type { GpuChoice } from '../../shared/settings';
import { EngineError, nativeMessage } from '../engineError';
import type { LoadParams, LoadResult } from '../../engine/types';
import { startLlama, type NodeLlamaCpp, type StartedLlama } from './backend';
import { ChatTurns } from './chatTurns';
import type { LoadedModel } from './loadedModel';
import { createSequenceLookup } from './lookupPredictor';
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

/** Sequences per context: one for completions, one for chat. contextSize is per sequence, so the KV cache is twice that. */
const jobs = 2;
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

  constructor(private readonly log: (line: string) => void) {
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
   */
  async load(params: LoadParams, signal: AbortSignal, unloadCurrent: () => Promise<void>): Promise<LoadedModel> {
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
      context = await model.createContext({ contextSize: params.contextSize, sequences: jobs, threads, createSignal: signal });
    } catch (err) {
      if (this.llamaState) await this.disposeFailedModel(model, this.llamaState);
      if (signal.aborted) throw cancelled();
      if (err instanceof lib.InsufficientMemoryError) {
        throw new EngineError(
          `There is not enough memory for a context of ${params.contextSize} tokens (one each for completions and chat); try a smaller context size.`,
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
    // Drafts never change what is generated (each is verified by the model), so they are on unless turned off.
    const lookup = params.lookup === false ? null : { completion: createSequenceLookup(lib), chat: createSequenceLookup(lib) };
    const sequence = context.getSequence({ tokenPredictor: lookup?.completion.predictor });
    const chatSequence = context.getSequence({ tokenPredictor: lookup?.chat.predictor });
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
      fallbackReason,
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
    };
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
