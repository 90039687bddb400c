// The model file, checked before llama.cpp touches it (it aborts the process on some bad files)
// and refused in one sentence. What a GGUF must hold is models/gguf.ts's to know; here only the
// tensor data size that node-llama-cpp computes with llama.cpp's own type sizes is added.
import type { GgufFileInfo, Llama } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { checkGgufFile, defaultCheckTimeoutMs, type GgufFailure } from '../../models/gguf';
import type { NodeLlamaCpp } from './backend';
import { EngineError } from '../engineError';

export interface CheckedModelFile {
  /** general.name, when the file has one. */
  name: string | null;
  sizeBytes: number;
  info: GgufFileInfo;
}

/** The rest of the sentence that starts "The model file <path> ". */
function refusal(check: GgufFailure): string {
  switch (check.fault) {
    case 'notFound':
      return 'does not exist.';
    case 'unreadable':
      return `cannot be read (${check.detail}).`;
    case 'timedOut':
      return `cannot be read: ${check.detail}.`;
    case 'cancelled':
      return 'was not loaded: the load was cancelled.';
    case 'folder':
      return 'is a folder, not a .gguf file.';
    case 'notFile':
      return `cannot be loaded: ${check.detail}.`;
    case 'empty':
      return 'is empty.';
    case 'noSignature':
      return 'is not a GGUF file.';
    case 'malformed':
    case 'cut':
      return 'is truncated or corrupt.';
    case 'version':
    case 'tensorType':
      return `cannot be loaded by this llama.cpp: ${check.detail}.`;
    case 'noArchitecture':
      return 'does not say which model architecture it is.';
    case 'missingKey':
      return `is missing ${check.key}, so llama.cpp cannot load it.`;
    case 'zeroKey':
      return `has ${check.key} = 0, so llama.cpp cannot load it.`;
  }
}

/**
 * Checks the file's header; throws an EngineError with the sentence when it cannot be loaded.
 * Bounded in time and stopped by `signal`: a file on a mount that hangs must not hold the host's
 * queue (and with it every later request) for good.
 */
export async function checkModelFile(modelPath: string, lib: NodeLlamaCpp, signal?: AbortSignal): Promise<CheckedModelFile> {
  const check = await checkGgufFile(modelPath, { signal });
  if (!check.ok) throw new EngineError(`The model file ${modelPath} ${refusal(check)}`);
  // Our own check just read the same header, so this one is quick; bounded all the same.
  const bound = AbortSignal.timeout(defaultCheckTimeoutMs);
  const stop = signal ? AbortSignal.any([signal, bound]) : bound;
  let info: GgufFileInfo;
  try {
    info = await untilAborted(lib.readGgufFileInfo(modelPath, { logWarnings: false, sourceType: 'filesystem', signal: stop }), stop);
  } catch {
    if (signal?.aborted) throw new EngineError(`The model file ${modelPath} was not loaded: the load was cancelled.`);
    if (bound.aborted)
      throw new EngineError(`The model file ${modelPath} cannot be read: it did not finish within ${defaultCheckTimeoutMs / 1000} s.`);
    throw new EngineError(`The model file ${modelPath} is truncated or corrupt.`);
  }
  return { name: check.info.name, sizeBytes: check.info.fileSize, info };
}

/** `work`, or a rejection as soon as `signal` aborts (the work itself may go on unobserved). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Tensor data must fit inside the file; a cut download fails here rather than in native code. */
export async function checkTensorData(modelPath: string, file: CheckedModelFile, llama: Llama, lib: NodeLlamaCpp): Promise<void> {
  const { info } = file;
  if (info.splicedParts > 1 || info.infoEndOffset == null) return;
  let dataBytes: number;
  try {
    dataBytes = (await lib.GgufInsights.from(info, llama)).modelSize;
  } catch {
    throw new EngineError(`The model file ${modelPath} is truncated or corrupt.`);
  }
  if (info.infoEndOffset + dataBytes > file.sizeBytes) throw new EngineError(`The model file ${modelPath} is truncated or corrupt.`);
}
