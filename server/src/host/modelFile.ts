// The model file, checked before llama.cpp touches it (it aborts the process on some bad files)
// and refused in one sentence. What a GGUF must hold is models/gguf.ts's to know; here only the
// tensor data size that node-llama-cpp computes with llama.cpp's own type sizes is added.
import type { GgufFileInfo, Llama } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { checkGgufFile, type GgufFailure } from '../models/gguf';
import type { NodeLlamaCpp } from './backend';
import { EngineError } from './engineError';

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
    case 'folder':
      return 'is a folder, not a .gguf file.';
    case 'notFile':
      return 'is not a regular file.';
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

/** Checks the file's header; throws an EngineError with the sentence when it cannot be loaded. */
export async function checkModelFile(modelPath: string, lib: NodeLlamaCpp): Promise<CheckedModelFile> {
  const check = await checkGgufFile(modelPath);
  if (!check.ok) throw new EngineError(`The model file ${modelPath} ${refusal(check)}`);
  let info: GgufFileInfo;
  try {
    info = await lib.readGgufFileInfo(modelPath, { logWarnings: false, sourceType: 'filesystem' });
  } catch {
    throw new EngineError(`The model file ${modelPath} is truncated or corrupt.`);
  }
  return { name: check.info.name, sizeBytes: check.info.fileSize, info };
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
