// `npm run bench [-- names...] [--shape ID [--quant Q]]`: the benchmarks, one after another, each
// printing a table and writing bench/results/<name>.json, then a summary of every figure against
// its target. With --shape (or BENCH_SHAPE) they measure a model with the exact architecture of a
// real coder model (scripts/dev/modelShapes.ts) instead of the large test model, into
// bench/results/<name>-<shape>.json; without names, the figures a user of that model feels.
// BENCH_QUICK=1 runs a few repetitions of each, to check the scripts, not to measure.
import { tinyModel } from '../scripts/dev/models';
import { shapeIds } from '../scripts/dev/modelShapes';
import { shapedQuants } from '../scripts/dev/shapedGguf';
import { runOverhead } from './overhead';
import { runWake } from './wake';
import { runMemory } from './memory';
import { runTypingStorm } from './typingStorm';
import { runChatAcrossSleep } from './chatAcrossSleep';
import { runRemote } from './remote';
import { runKeystroke } from './keystroke';
import { runGhostAfterSleep } from './ghostAfterSleep';
import { runContextRing } from './contextRing';
import { runWindowPriority } from './windowPriority';
import { runLookup } from './lookup';
import { runCodebaseFirstToken } from './codebaseFirstToken';
import { runTwoModels } from './twoModels';
import { runCandidates } from './candidates';
import { runDraftModel } from './draftModel';
import { benchModel, shapeChoice } from './lib/benchModel';
import { buildEngineWorker } from './lib/buildWorker';
import type { BenchContext, BenchOutcome } from './lib/context';
import { pageCacheDropProblem } from './lib/pageCache';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { printTable } from './lib/table';

const benchmarks: Record<string, (ctx: BenchContext) => Promise<BenchOutcome>> = {
  overhead: runOverhead,
  wake: runWake,
  memory: runMemory,
  typingStorm: runTypingStorm,
  chatAcrossSleep: runChatAcrossSleep,
  remote: runRemote,
  keystroke: runKeystroke,
  ghostAfterSleep: runGhostAfterSleep,
  contextRing: runContextRing,
  windowPriority: runWindowPriority,
  lookup: runLookup,
  codebaseFirstToken: runCodebaseFirstToken,
  twoModels: runTwoModels,
  candidates: runCandidates,
  draftModel: runDraftModel,
};

/**
 * What a user of a real model feels, for a shape-true model: completions (first ghost text after a
 * pause, typing along a line, state file), chat (first token, tokens/s, state file), wakes, memory.
 */
const shapeBenchmarks = ['keystroke', 'chatAcrossSleep', 'wake', 'memory'];

const usage = `Usage: bench/run.ts [${Object.keys(benchmarks).join('|')}...] [--shape ${shapeIds.join('|')}] [--quant ${shapedQuants.join('|')}]`;

/** The benchmark names; --shape and --quant go to BENCH_SHAPE and BENCH_QUANT, where the result files read them. */
function parseArgs(args: string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = /^--(shape|quant)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? args[++i];
      if (value === undefined || value === '') throw new Error(`${arg} needs a value. ${usage}`);
      process.env[flag[1] === 'shape' ? 'BENCH_SHAPE' : 'BENCH_QUANT'] = value;
    } else if (arg in benchmarks) names.push(arg);
    else throw new Error(`Unknown benchmark "${arg}"; known: ${Object.keys(benchmarks).join(', ')}. ${usage}`);
  }
  return names;
}

async function main(): Promise<void> {
  let wanted: string[];
  let shape: ReturnType<typeof shapeChoice>;
  try {
    wanted = parseArgs(process.argv.slice(2));
    shape = shapeChoice();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const header = resultHeader('run', loadAverage());
  const started = performance.now();
  await buildEngineWorker();
  const model = await benchModel(shape, (line) => process.stdout.write(`${line}\n`));
  const ctx: BenchContext = {
    tinyModel: await tinyModel(),
    largeModel: model.path,
    model,
    // BENCH_COLD=0 skips the cold page cache samples, and their drops of the whole machine's page cache.
    pageCacheProblem: process.env['BENCH_COLD'] === '0' ? 'BENCH_COLD=0 asked for a warm page cache only' : pageCacheDropProblem(),
    quick: process.env['BENCH_QUICK'] === '1',
  };
  process.stdout.write(`Model: ${model.kind}\n  ${model.path}\n`);
  const names = wanted.length ? wanted : shape ? shapeBenchmarks : Object.keys(benchmarks);
  const outcomes: BenchOutcome[] = [];
  const seconds: Record<string, number> = {};
  for (const name of names) {
    const t = performance.now();
    process.stdout.write(`\n== ${name} ==\n`);
    outcomes.push(await benchmarks[name](ctx));
    seconds[name] = Math.round((performance.now() - t) / 1000);
    process.stdout.write(`(${name}: ${seconds[name]} s)\n`);
  }
  printTable(
    `Summary (${model.kind})`,
    ['figure', 'value', 'target', 'met'],
    outcomes.flatMap((o) => o.verdicts.map((v) => [v.figure, v.value, v.target, v.met === null ? '-' : v.met ? 'yes' : 'NO'])),
  );
  const total = Math.round((performance.now() - started) / 1000);
  // A shape's run gets its own record: the load average over the whole run says how shared the machine was.
  if (shape !== null && !ctx.quick) {
    const file = writeResult('run', header, { model, benchmarks: names, seconds, totalSeconds: total, outcomes });
    process.stdout.write(`\nThe run: ${file}\n`);
  }
  process.stdout.write(`\nAll benchmarks: ${total} s. Results in bench/results/.\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
