// Every result file says where, when and on what it was measured.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resultSuffix, shapeChoice, shapeKind, shapePath, type ShapeChoice } from './benchModel';
import { gpu, threads } from './config';

export const resultsDir = path.resolve(__dirname, '../results');

export interface MachineInfo {
  host: string;
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  node: string;
  nodeLlamaCpp: string;
  /** 1, 5 and 15 minute load averages when the benchmark started and ended. */
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  /** The NVIDIA GPU and driver, where nvidia-smi answers. */
  gpuDevice?: string;
  /** llama.cpp threads and backend asked for by the benchmark. */
  threads: number;
  gpu: string;
}

export interface ResultHeader {
  benchmark: string;
  date: string;
  commit: string;
  /** Files changed since that commit, when any: the run measured the working tree. */
  dirty: boolean;
  machine: MachineInfo;
  /** The shape-true model measured (--shape, BENCH_SHAPE); absent for the generated test models. */
  modelShape?: ShapeChoice & { kind: string };
  /** BENCH_QUICK=1: a few repetitions, to check the scripts; not a measurement. */
  quick?: true;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: path.resolve(__dirname, '../..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`, { paths: [path.resolve(__dirname, '../..')] });
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gpuDevice(): { gpuDevice?: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,compute_cap', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { gpuDevice: out.trim().split('\n')[0] };
  } catch {
    return {};
  }
}

export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

// Read once, when the run starts and dist/ has just been built: a commit made during the run
// must not relabel what was measured.
// A copy without .git (the GPU machine) is told its commit by bench/gpu/prepare.sh.
const runCommit = process.env['BENCH_COMMIT'] ?? git(['rev-parse', 'HEAD']);
const runDirty =
  process.env['BENCH_DIRTY'] !== undefined
    ? process.env['BENCH_DIRTY'] === '1'
    : git(['status', '--porcelain', '--untracked-files=no']) !== '';

export function resultHeader(benchmark: string, loadAverageStart: number[]): ResultHeader {
  const shape = shapeChoice();
  return {
    benchmark,
    date: new Date().toISOString(),
    commit: runCommit,
    dirty: runDirty,
    machine: {
      host: os.hostname(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memoryBytes: os.totalmem(),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      nodeLlamaCpp: packageVersion('node-llama-cpp'),
      loadAverageStart,
      threads,
      gpu,
      ...gpuDevice(),
    },
    ...(shape === null ? {} : { modelShape: { ...shape, kind: shapeKind(shape) } }),
    ...(process.env['BENCH_QUICK'] === '1' ? { quick: true as const } : {}),
  };
}

/**
 * A body's `model.kind` names the model the benchmark was written for; where its path is the
 * shape-true model's (the runner passes it as ctx.largeModel), it says so instead.
 */
function labelModel(body: object, shape: ShapeChoice | null): object {
  const model = (body as { model?: unknown }).model;
  if (shape === null || typeof model !== 'object' || model === null) return body;
  const { path: modelPath } = model as { path?: unknown };
  if (modelPath !== shapePath(shape)) return body;
  return { ...body, model: { ...model, kind: shapeKind(shape) } };
}

/**
 * Writes bench/results/<name>.json atomically (a .tmp file, then a rename); a shape-true model's
 * figures go to <name>-<shape>.json and runs on a GPU backend write <name>[-<shape>]-<backend>.json,
 * beside the test models' CPU figures.
 */
export function writeResult(name: string, header: ResultHeader, body: object): string {
  mkdirSync(resultsDir, { recursive: true });
  const shape = shapeChoice();
  const base = `${name}${resultSuffix(shape)}`;
  const file = path.join(resultsDir, gpu === 'cpu' ? `${base}.json` : `${base}-${gpu}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  header.machine.loadAverageEnd = loadAverage();
  writeFileSync(tmp, `${JSON.stringify({ ...header, ...labelModel(body, shape) }, null, 2)}\n`);
  renameSync(tmp, file);
  return file;
}
