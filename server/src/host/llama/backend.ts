// Which llama.cpp backend to start: the GPU asked for, else the CPU with a reason the user reads.
// Never builds from source (build: 'never'): with a CUDA toolkit present the default starts a
// ten-minute compile.
import type { Llama, LlamaLogLevel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { errorMessage } from '../../shared/errors';
import type { GpuChoice } from '../../shared/settings';
import { EngineError, nativeMessage } from '../engineError';

export type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

export interface StartedLlama {
  llama: Llama;
  /** Set when the GPU asked for could not be used and the CPU runs instead. */
  fallbackReason: string | null;
}

const backendLabels: Record<Exclude<GpuChoice, 'auto' | 'cpu'>, string> = { cuda: 'CUDA', metal: 'Metal', vulkan: 'Vulkan' };

export async function startLlama(lib: NodeLlamaCpp, gpu: GpuChoice, threads: number, log: (line: string) => void): Promise<StartedLlama> {
  const logger = (level: LlamaLogLevel, message: string): void => {
    const text = message.trimEnd();
    if (text !== '') log(`[llama.cpp ${level}] ${text}`);
  };
  const base = { build: 'never', maxThreads: threads, logLevel: lib.LlamaLogLevel.warn, logger, progressLogs: false } as const;
  if (gpu === 'auto' || gpu === 'cpu') {
    try {
      return { llama: await lib.getLlama({ ...base, gpu: gpu === 'auto' ? 'auto' : false }), fallbackReason: null };
    } catch (err) {
      throw new EngineError(`llama.cpp could not start on this machine: ${nativeMessage(err)}.`);
    }
  }
  const fallbackReason = `${backendLabels[gpu]} is not available on this machine, so the model runs on the CPU.`;
  try {
    const llama = await lib.getLlama({ ...base, gpu });
    // Asked for a backend this platform never has (Metal on Linux), it quietly gives the CPU.
    return { llama, fallbackReason: llama.gpu === gpu ? null : fallbackReason };
  } catch (err) {
    log(`${backendLabels[gpu]} backend unavailable: ${errorMessage(err)}`);
  }
  try {
    return { llama: await lib.getLlama({ ...base, gpu: false }), fallbackReason };
  } catch (err) {
    throw new EngineError(`Neither ${backendLabels[gpu]} nor the CPU backend of llama.cpp could start: ${nativeMessage(err)}.`);
  }
}
