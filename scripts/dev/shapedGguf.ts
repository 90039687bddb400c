// A GGUF with the exact architecture, tokenizer and quantization layout of a real coder model
// (modelShapes.ts) and random weights, laid out as llama.cpp's converter and quantizer lay out
// Qwen's own files: qwen2 keys, the real BPE vocabulary and merges, Q8_0 (or Q4_0) matrices,
// F32 norms and biases.
import { chatMlTemplate } from './gguf';
import { GgmlType, kv, writeGgufFile, type Metadata } from './ggufWriter';
import { kvWidth, type ModelShape } from './modelShapes';
import { qwen25SpecialTokenIds as ids, qwenVocabulary } from './qwenVocabulary';
import { randomTensorData, type FilledTensor } from './randomBlocks';

export type ShapedQuant = 'q8_0' | 'q4_0';
export const shapedQuants: readonly ShapedQuant[] = ['q8_0', 'q4_0'];

/** llama_ftype of a file whose matrices are mostly this type. */
const fileType: Record<ShapedQuant, number> = { q8_0: 7, q4_0: 2 };

export interface ShapedGguf {
  metadata: Metadata;
  tensors: FilledTensor[];
}

function metadata(shape: ModelShape, quant: ShapedQuant): Metadata {
  const a = shape.architecture;
  const vocab = qwenVocabulary(shape.vocabSize);
  return [
    ['general.architecture', kv.str(a)],
    ['general.type', kv.str('model')],
    ['general.name', kv.str(shape.name)],
    ['general.file_type', kv.u32(fileType[quant])],
    ['general.quantization_version', kv.u32(2)],
    [`${a}.block_count`, kv.u32(shape.layers)],
    [`${a}.context_length`, kv.u32(shape.contextLength)],
    [`${a}.embedding_length`, kv.u32(shape.embd)],
    [`${a}.feed_forward_length`, kv.u32(shape.ff)],
    [`${a}.attention.head_count`, kv.u32(shape.heads)],
    [`${a}.attention.head_count_kv`, kv.u32(shape.headsKv)],
    [`${a}.rope.freq_base`, kv.f32(shape.ropeFreqBase)],
    [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(shape.rmsEps)],
    ['tokenizer.ggml.model', kv.str('gpt2')],
    ['tokenizer.ggml.pre', kv.str('qwen2')],
    ['tokenizer.ggml.tokens', kv.strings(vocab.tokens)],
    ['tokenizer.ggml.token_type', kv.i32s(vocab.types)],
    ['tokenizer.ggml.merges', kv.strings(vocab.merges)],
    ['tokenizer.ggml.bos_token_id', kv.u32(ids['<|endoftext|>'])],
    ['tokenizer.ggml.eos_token_id', kv.u32(ids['<|im_end|>'])],
    ['tokenizer.ggml.eot_token_id', kv.u32(ids['<|im_end|>'])],
    ['tokenizer.ggml.padding_token_id', kv.u32(ids['<|endoftext|>'])],
    ['tokenizer.ggml.add_bos_token', kv.bool(false)],
    ['tokenizer.ggml.fim_pre_token_id', kv.u32(ids['<|fim_prefix|>'])],
    ['tokenizer.ggml.fim_suf_token_id', kv.u32(ids['<|fim_suffix|>'])],
    ['tokenizer.ggml.fim_mid_token_id', kv.u32(ids['<|fim_middle|>'])],
    ['tokenizer.ggml.fim_pad_token_id', kv.u32(ids['<|fim_pad|>'])],
    ['tokenizer.ggml.fim_rep_token_id', kv.u32(ids['<|repo_name|>'])],
    ['tokenizer.ggml.fim_sep_token_id', kv.u32(ids['<|file_sep|>'])],
    ['tokenizer.chat_template', kv.str(chatMlTemplate)],
  ];
}

function tensors(shape: ModelShape, quant: ShapedQuant): FilledTensor[] {
  const matrixType = quant === 'q8_0' ? GgmlType.Q8_0 : GgmlType.Q4_0;
  // llama-quantize keeps the output projection at 6 bits in 4-bit files; a tied embedding is that projection.
  const outputType = quant === 'q8_0' ? GgmlType.Q8_0 : GgmlType.Q6_K;
  const { embd, ff, vocabSize } = shape;
  const kvDim = kvWidth(shape);
  const matrix = (name: string, dims: number[], type = matrixType): FilledTensor => ({ name, dims, type, fill: 'random' });
  const vector = (name: string, length: number, fill: 'ones' | 'zeros'): FilledTensor => ({
    name,
    dims: [length],
    type: GgmlType.F32,
    fill,
  });
  const list = [matrix('token_embd.weight', [embd, vocabSize], shape.tiedEmbeddings ? outputType : matrixType)];
  for (let i = 0; i < shape.layers; i++) {
    const p = `blk.${i}.`;
    list.push(
      vector(`${p}attn_norm.weight`, embd, 'ones'),
      matrix(`${p}attn_q.weight`, [embd, embd]),
      vector(`${p}attn_q.bias`, embd, 'zeros'),
      matrix(`${p}attn_k.weight`, [embd, kvDim]),
      vector(`${p}attn_k.bias`, kvDim, 'zeros'),
      matrix(`${p}attn_v.weight`, [embd, kvDim]),
      vector(`${p}attn_v.bias`, kvDim, 'zeros'),
      matrix(`${p}attn_output.weight`, [embd, embd]),
      vector(`${p}ffn_norm.weight`, embd, 'ones'),
      matrix(`${p}ffn_gate.weight`, [embd, ff]),
      matrix(`${p}ffn_up.weight`, [embd, ff]),
      matrix(`${p}ffn_down.weight`, [ff, embd]),
    );
  }
  list.push(vector('output_norm.weight', embd, 'ones'));
  if (!shape.tiedEmbeddings) list.push(matrix('output.weight', [embd, vocabSize], outputType));
  return list;
}

export function shapedGguf(shape: ModelShape, quant: ShapedQuant): ShapedGguf {
  if (shape.embd % shape.heads !== 0) throw new Error(`${shape.id}: width ${shape.embd} is not a multiple of ${shape.heads} heads.`);
  return { metadata: metadata(shape, quant), tensors: tensors(shape, quant) };
}

const seed = 23;

/**
 * Writes the model and returns its size in bytes. 'sparse' leaves the weights as a hole (zeros,
 * no disk used): the real header and size, for checks that never load it.
 */
export function writeShapedGguf(filePath: string, model: ShapedGguf, data: 'random' | 'sparse'): Promise<number> {
  return writeGgufFile(
    filePath,
    model.metadata,
    model.tensors,
    data === 'sparse' ? 'sparse' : (t, index) => randomTensorData(t, seed, index),
  );
}
