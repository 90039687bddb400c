// The model the benchmarks measure: the large generated test model, or, with a shape
// (`npm run bench -- --shape qwen2.5-coder-1.5b`, or BENCH_SHAPE), a GGUF with the exact
// architecture of a real coder model and random weights (scripts/dev/shapedModel.ts): time per
// token, context memory, state files and wakes depend on the shape, not on the weights' values.
import { largeModel } from '../../scripts/dev/models';
import { isShapeId, modelShapes, shapeIds, type ShapeId } from '../../scripts/dev/modelShapes';
import { shapedQuants, type ShapedQuant } from '../../scripts/dev/shapedGguf';
import { cachedShapedModel, shapedModelPath } from '../../scripts/dev/shapedModel';

export interface ShapeChoice {
  shape: ShapeId;
  quant: ShapedQuant;
}

export interface BenchModel {
  path: string;
  /** What it is, in words, for the tables and the result files. */
  kind: string;
  /** null: the large generated test model. */
  shape: ShapeChoice | null;
}

export const largeModelKind = 'large random (8 layers x 1024, F16, 258 MiB)';

const isQuant = (value: string): value is ShapedQuant => (shapedQuants as readonly string[]).includes(value);

/**
 * The shape chosen through BENCH_SHAPE (and BENCH_QUANT, Q8_0 by default); null when none. Read
 * when asked rather than at import, so that the runner's flags, set before, count.
 */
export function shapeChoice(env: NodeJS.ProcessEnv = process.env): ShapeChoice | null {
  const shape = env['BENCH_SHAPE'] ?? '';
  const quant = env['BENCH_QUANT'] ?? 'q8_0';
  if (shape === '') return null;
  if (!isShapeId(shape)) throw new Error(`BENCH_SHAPE must be one of ${shapeIds.join(', ')}, not "${shape}".`);
  if (!isQuant(quant)) throw new Error(`BENCH_QUANT must be one of ${shapedQuants.join(', ')}, not "${quant}".`);
  return { shape, quant };
}

/** "-qwen2.5-coder-1.5b" (Q8_0) or "-qwen2.5-coder-1.5b-q4_0": what a shape adds to a result file's name. */
export const resultSuffix = (choice: ShapeChoice | null): string =>
  choice === null ? '' : `-${choice.shape}${choice.quant === 'q8_0' ? '' : `-${choice.quant}`}`;

export function shapeKind(choice: ShapeChoice): string {
  const s = modelShapes[choice.shape];
  return (
    `${s.name.replace(/ \(random weights\)$/, '')}, ${choice.quant.toUpperCase()}, random weights ` +
    `(${s.layers} layers x ${s.embd}, ${s.heads} heads / ${s.headsKv} KV heads, FFN ${s.ff}, vocabulary ${s.vocabSize})`
  );
}

/** The path a chosen shape's file has, without writing it. */
export const shapePath = (choice: ShapeChoice): string => shapedModelPath(choice.shape, choice.quant);

/** The model to measure, written first when it is not in .cache/models/ yet (the 1.5B shape: 1.6 GB, minutes). */
export async function benchModel(choice: ShapeChoice | null, log: (line: string) => void): Promise<BenchModel> {
  if (choice === null) return { path: await largeModel(), kind: largeModelKind, shape: null };
  const path = await cachedShapedModel(choice.shape, choice.quant, log);
  return { path, kind: shapeKind(choice), shape: choice };
}
