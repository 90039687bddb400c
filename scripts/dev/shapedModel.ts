// Benchmark models with the exact shape of real coder models (shapedGguf.ts), generated on demand
// into .cache/models/ and reused while the file's header and size are still what the generator
// writes. CLI: `node --import tsx scripts/dev/shapedModel.ts qwen2.5-coder-1.5b [--quant q8_0|q4_0]`
// prints the model's path (progress goes to stderr).
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { layoutGguf } from './ggufWriter';
import { isShapeId, modelShapes, shapeIds, type ShapeId } from './modelShapes';
import { modelCacheDir } from './models';
import { shapedGguf, shapedQuants, writeShapedGguf, type ShapedQuant } from './shapedGguf';

export const shapedModelPath = (id: ShapeId, quant: ShapedQuant): string => path.join(modelCacheDir, `${id}-${quant}.gguf`);

/** Whether `file` is exactly `header` followed by `size - header.length` bytes of data. */
async function fileMatches(file: string, header: Buffer, size: number): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile() || info.size !== size) return false;
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(header.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(header);
  } finally {
    await handle.close();
  }
}

/** Path of the model, written once (to a temporary name, then renamed, so a cut write is never reused). */
export async function cachedShapedModel(id: ShapeId, quant: ShapedQuant = 'q8_0', log: (line: string) => void = () => {}): Promise<string> {
  const file = shapedModelPath(id, quant);
  const model = shapedGguf(modelShapes[id], quant);
  const layout = layoutGguf(model.metadata, model.tensors);
  if (await fileMatches(file, layout.header, layout.fileBytes)) return file;
  await mkdir(modelCacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  log(`Writing ${path.basename(file)} (${(layout.fileBytes / 1e9).toFixed(2)} GB)...`);
  const started = Date.now();
  try {
    await writeShapedGguf(tmp, model, 'random');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  log(`Wrote it in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return file;
}

const usage = `Usage: node --import tsx scripts/dev/shapedModel.ts ${shapeIds.join('|')} [--quant ${shapedQuants.join('|')}]`;

async function main(args: string[]): Promise<void> {
  const [id, flag, quant = 'q8_0'] = args;
  const quantOk = (shapedQuants as readonly string[]).includes(quant);
  if (id === undefined || !isShapeId(id) || (flag !== undefined && flag !== '--quant') || !quantOk || args.length > 3) {
    const problem =
      id !== undefined && !isShapeId(id)
        ? `"${id}" is not a model shape this generator knows.\n`
        : !quantOk
          ? `"${quant}" is not a quantization this generator writes.\n`
          : '';
    process.stderr.write(`${problem}${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const file = await cachedShapedModel(id, quant as ShapedQuant, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${file}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
