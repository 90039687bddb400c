// `npm run bench [-- names...]`: the benchmarks, one after another, each printing a table and
// writing bench/results/<name>.json, then a summary of every figure against its target.
// BENCH_QUICK=1 runs a few repetitions of each, to check the scripts, not to measure.
import { largeModel, tinyModel } from '../scripts/dev/models';
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
import { buildEngineWorker } from './lib/buildWorker';
import type { BenchContext, BenchOutcome } from './lib/context';
import { pageCacheDropProblem } from './lib/pageCache';
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

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((n) => !(n in benchmarks));
  if (unknown.length) {
    process.stderr.write(`Unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}.\n`);
    process.exitCode = 2;
    return;
  }
  const started = performance.now();
  await buildEngineWorker();
  const ctx: BenchContext = {
    tinyModel: await tinyModel(),
    largeModel: await largeModel(),
    pageCacheProblem: pageCacheDropProblem(),
    quick: process.env['BENCH_QUICK'] === '1',
  };
  const outcomes: BenchOutcome[] = [];
  for (const name of wanted.length ? wanted : Object.keys(benchmarks)) {
    const t = performance.now();
    process.stdout.write(`\n== ${name} ==\n`);
    outcomes.push(await benchmarks[name](ctx));
    process.stdout.write(`(${name}: ${((performance.now() - t) / 1000).toFixed(0)} s)\n`);
  }
  printTable(
    'Summary',
    ['figure', 'value', 'target', 'met'],
    outcomes.flatMap((o) => o.verdicts.map((v) => [v.figure, v.value, v.target, v.met === null ? '-' : v.met ? 'yes' : 'NO'])),
  );
  process.stdout.write(`\nAll benchmarks: ${((performance.now() - started) / 1000).toFixed(0)} s. Results in bench/results/.\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
