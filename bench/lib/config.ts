// Settings shared by the benchmarks. Both sides (server and direct engine) get the same ones.
import { availableParallelism } from 'node:os';
import { gpuChoices, type GpuChoice } from '../../server/src/shared/settings';

/**
 * llama.cpp threads. One by default: on this shared 2-core machine, 2 threads ran a 1280-token
 * infill 15-30x slower whenever another process took a core (its threads wait for each other by
 * spinning). BENCH_THREADS=0 uses every core, as the extension's default does.
 */
export const threads = ((): number => {
  const n = Number(process.env['BENCH_THREADS'] ?? '1');
  return Number.isInteger(n) && n > 0 ? n : availableParallelism();
})();

/** BENCH_GPU=cuda on a CUDA machine; the CPU elsewhere. */
export const gpu: GpuChoice = ((): GpuChoice => {
  const value = process.env['BENCH_GPU'] ?? 'cpu';
  const choice = gpuChoices.find((c) => c === value);
  if (!choice) throw new Error(`BENCH_GPU must be one of ${gpuChoices.join(', ')}, not "${value}".`);
  return choice;
})();
export const gpuLayers: 'auto' | number = gpu === 'cpu' ? 0 : 'auto';

/** `localLlm` settings for the server; `extra` overrides. */
export function serverSettings(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    gpu,
    gpuLayers,
    threads,
    sleepIdleSeconds: 0,
    ...extra,
  };
}
