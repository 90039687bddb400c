// The one GGUF v3 writer behind every generated model: metadata and tensor table in one header,
// then each tensor's data streamed from its producer, so a file of any size needs little memory.
// What the tensors hold (tiny llama test models, real-shaped benchmark models) is the caller's.
import { open } from 'node:fs/promises';
import { ggmlTypeSizes, ValueType } from '../../server/src/models/gguf';

/** ggml tensor types this writer can size (the file format's numbering). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  Q6_K = 14,
}

export const ggufAlignment = 32;

export type KvValue =
  | { type: ValueType.UINT32 | ValueType.INT32 | ValueType.FLOAT32; value: number }
  | { type: ValueType.BOOL; value: boolean }
  | { type: ValueType.STRING; value: string }
  | { type: ValueType.ARRAY; itemType: ValueType.STRING; value: readonly string[] }
  | { type: ValueType.ARRAY; itemType: ValueType.FLOAT32 | ValueType.INT32; value: readonly number[] };

export type Metadata = readonly (readonly [string, KvValue])[];

export interface TensorInfo {
  name: string;
  /** ne0 (row length) first. */
  dims: readonly number[];
  type: GgmlType;
}

/** Produces one tensor's data in order; the pieces must add up to `tensorByteSize(tensor)`. */
export type TensorData<T extends TensorInfo> = (tensor: T, index: number) => Iterable<Buffer>;

export const kv = {
  u32: (value: number): KvValue => ({ type: ValueType.UINT32, value }),
  f32: (value: number): KvValue => ({ type: ValueType.FLOAT32, value }),
  bool: (value: boolean): KvValue => ({ type: ValueType.BOOL, value }),
  str: (value: string): KvValue => ({ type: ValueType.STRING, value }),
  strings: (value: readonly string[]): KvValue => ({ type: ValueType.ARRAY, itemType: ValueType.STRING, value }),
  f32s: (value: readonly number[]): KvValue => ({ type: ValueType.ARRAY, itemType: ValueType.FLOAT32, value }),
  i32s: (value: readonly number[]): KvValue => ({ type: ValueType.ARRAY, itemType: ValueType.INT32, value }),
};

export const elementCount = (t: TensorInfo): number => t.dims.reduce((a, b) => a * b, 1);

export function blockOf(type: GgmlType): { elements: number; bytes: number } {
  // The validator's table of ggml types (server/src/models/gguf.ts) sizes what the writer writes.
  const [elements, bytes] = ggmlTypeSizes.get(type)!;
  return { elements, bytes };
}

export function tensorByteSize(t: TensorInfo): number {
  const { elements, bytes } = blockOf(t.type);
  // ggml quantizes whole rows, so a row that is not whole blocks cannot be written.
  if (t.dims[0]! % elements !== 0)
    throw new Error(`${t.name}'s rows of ${t.dims[0]} are not whole blocks of ${elements} (type ${t.type}).`);
  return (elementCount(t) / elements) * bytes;
}

export const alignUp = (n: number): number => Math.ceil(n / ggufAlignment) * ggufAlignment;

/** Little-endian buffer that grows as the header is written. */
class HeaderWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  f32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeFloatLE(v, this.length);
  }
  u64(v: number): void {
    this.ensure(8);
    this.length = this.buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  u8(v: number): void {
    this.ensure(1);
    this.length = this.buf.writeUInt8(v, this.length);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  padTo(n: number): void {
    this.ensure(n - this.length);
    this.buf.fill(0, this.length, n);
    this.length = n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: HeaderWriter, v: KvValue): void {
  w.u32(v.type);
  switch (v.type) {
    case ValueType.UINT32:
      return w.u32(v.value);
    case ValueType.INT32:
      return w.i32(v.value);
    case ValueType.FLOAT32:
      return w.f32(v.value);
    case ValueType.BOOL:
      return w.u8(v.value ? 1 : 0);
    case ValueType.STRING:
      return w.str(v.value);
    case ValueType.ARRAY:
      w.u32(v.itemType);
      w.u64(v.value.length);
      if (v.itemType === ValueType.STRING) for (const s of v.value) w.str(s);
      else if (v.itemType === ValueType.FLOAT32) for (const n of v.value) w.f32(n);
      else for (const n of v.value) w.i32(n);
  }
}

export interface GgufLayout {
  /** Magic, counts, metadata and tensor table, padded to where the data starts. */
  header: Buffer;
  /** The data section, each tensor padded to the alignment. */
  dataBytes: number;
  fileBytes: number;
}

export function layoutGguf(metadata: Metadata, tensors: readonly TensorInfo[]): GgufLayout {
  const w = new HeaderWriter();
  for (const c of 'GGUF') w.u8(c.charCodeAt(0));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.str(key);
    writeValue(w, value);
  }
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offset = alignUp(offset + tensorByteSize(t));
  }
  w.padTo(alignUp(w.length));
  return { header: w.bytes(), dataBytes: offset, fileBytes: w.length + offset };
}

/**
 * Writes a GGUF file and returns its size in bytes. With `data` 'sparse' the tensor data is a hole
 * of the right length (zeros, no disk used): a file with the real layout for checks that read
 * only its header.
 */
export async function writeGgufFile<T extends TensorInfo>(
  filePath: string,
  metadata: Metadata,
  tensors: readonly T[],
  data: TensorData<T> | 'sparse',
): Promise<number> {
  const layout = layoutGguf(metadata, tensors);
  const file = await open(filePath, 'w');
  try {
    const writeAll = async (bytes: Buffer): Promise<void> => {
      for (let at = 0; at < bytes.length;) at += (await file.write(bytes, at)).bytesWritten;
    };
    await writeAll(layout.header);
    if (data === 'sparse') {
      await file.truncate(layout.fileBytes);
      return layout.fileBytes;
    }
    let written = 0;
    for (const [index, t] of tensors.entries()) {
      const expected = tensorByteSize(t);
      let got = 0;
      for (const chunk of data(t, index)) {
        await writeAll(chunk);
        got += chunk.length;
      }
      if (got !== expected) throw new Error(`${t.name} got ${got} bytes of data instead of ${expected}.`);
      written += got;
      const pad = alignUp(written) - written;
      if (pad > 0) await writeAll(Buffer.alloc(pad));
      written += pad;
    }
    return layout.header.length + written;
  } finally {
    await file.close();
  }
}
