// The architectures of real coder models, from their model cards and config.json files, so that
// benchmark models with random weights cost what the real ones cost: time per token, context
// memory, state files and wakes depend on the shape, not on the weights' values.

export type ShapeId = 'qwen2.5-coder-1.5b' | 'qwen2.5-coder-7b';

export interface ModelShape {
  id: ShapeId;
  /** general.name; says the weights are random so nobody mistakes the file for the model. */
  name: string;
  /** llama.cpp architecture: RoPE, SwiGLU, RMSNorm, attention QKV bias. */
  architecture: 'qwen2';
  layers: number;
  embd: number;
  ff: number;
  heads: number;
  headsKv: number;
  /** Embedding rows: the tokenizer's 151,665 tokens padded. */
  vocabSize: number;
  /** The output projection is the token embedding (no output.weight). */
  tiedEmbeddings: boolean;
  contextLength: number;
  ropeFreqBase: number;
  rmsEps: number;
  /** The real model's figures, to check the generated one against. */
  real: {
    /** Parameters, from the model card. */
    params: number;
    /** Size of the real Q8_0 GGUF (Qwen's own release), about. */
    q8FileBytes: number;
  };
}

const qwen25Coder = { architecture: 'qwen2', contextLength: 32768, ropeFreqBase: 1e6, rmsEps: 1e-6 } as const;

export const modelShapes: Readonly<Record<ShapeId, ModelShape>> = {
  'qwen2.5-coder-1.5b': {
    ...qwen25Coder,
    id: 'qwen2.5-coder-1.5b',
    name: 'Qwen2.5-Coder-1.5B shape (random weights)',
    layers: 28,
    embd: 1536,
    ff: 8960,
    heads: 12,
    headsKv: 2,
    vocabSize: 151936,
    tiedEmbeddings: true,
    real: { params: 1.54e9, q8FileBytes: 1.65e9 },
  },
  'qwen2.5-coder-7b': {
    ...qwen25Coder,
    id: 'qwen2.5-coder-7b',
    name: 'Qwen2.5-Coder-7B shape (random weights)',
    layers: 28,
    embd: 3584,
    ff: 18944,
    heads: 28,
    headsKv: 4,
    vocabSize: 152064,
    tiedEmbeddings: false,
    real: { params: 7.61e9, q8FileBytes: 8.1e9 },
  },
};

export const shapeIds = Object.keys(modelShapes) as ShapeId[];

export function isShapeId(id: string): id is ShapeId {
  return Object.hasOwn(modelShapes, id);
}

export const headDim = (s: ModelShape): number => s.embd / s.heads;
export const kvWidth = (s: ModelShape): number => s.headsKv * headDim(s);

/** Parameters from the shape alone (embeddings, attention with its biases, FFN, norms). */
export function shapeParameterCount(s: ModelShape): number {
  const attention = 2 * s.embd * s.embd + 2 * s.embd * kvWidth(s) + s.embd + 2 * kvWidth(s);
  const ffn = 3 * s.embd * s.ff;
  const norms = 2 * s.embd;
  const embeddings = s.vocabSize * s.embd * (s.tiedEmbeddings ? 1 : 2);
  return embeddings + s.layers * (attention + ffn + norms) + s.embd;
}
