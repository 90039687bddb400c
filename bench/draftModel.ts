// A draft model (localLlm.completion.draftModel) against none, side by side: two model hosts of
// the large generated model, one with a small generated draft model that shares its vocabulary
// (1 layer x 256, F16), prompt lookup off on both so that every draft is the draft model's; the
// same requests alternately to each, on (a) ordinary completions and (b) the next row of a
// repeated table (bench/lookup.ts's prompts). Generation speed (tok/s) and request time, medians;
// drafted and accepted tokens; whether the answers are identical. Random weights: the draft model
// guesses noise that the model's own noise seldom matches, and neither is ever as sure of a token
// as a real model, so the drafts run with the confidence gate off (the hostDraftConfidence hook).
// What this shows is what drafting costs when it is refused, not the gain of a real 0.5B draft
// for a 7B coder, which depends on real weights.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostProcess } from '../server/src/engine/local/hostProcess';
import type { GenerationResult, InfillParams, LoadParams } from '../server/src/engine/types';
import { testHooksEnv } from '../server/src/shared/testHooks';
import { cachedModel, largeOptions } from '../scripts/dev/models';
import { gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { add, newSide, ordinaryPrompts, repeatedPrompts, type Side } from './lookup';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';

const hostPath = path.resolve(__dirname, '..', 'dist', 'host.js');

/** The large model's vocabulary (the generator's options that make it are unchanged), far fewer weights. */
const largeDraft = (): Promise<string> =>
  cachedModel({ ...largeOptions, name: 'large-draft', layers: 1, embd: 256, ff: 512, heads: 4, seed: 3 });

function startHost(params: LoadParams, dirs: string[]): HostProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-bench-draft-'));
  dirs.push(dir);
  const { modelPath, contextSize, draftModelPath } = params;
  return new HostProcess({
    hostPath,
    env: { ...process.env, LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv({ hostGraceMs: 1000, hostDraftConfidence: 0 }) },
    identity: { modelPath, gpu, gpuLayers, contextSize, threads, ...(draftModelPath ? { draftModelPath } : {}) },
    hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
  });
}

export async function runDraftModel(ctx: BenchContext): Promise<BenchOutcome> {
  const load = loadAverage();
  const dirs: string[] = [];
  const draftPath = await largeDraft();
  const params = (draft: boolean): LoadParams => ({
    modelPath: ctx.largeModel,
    gpu,
    gpuLayers,
    contextSize: 4096,
    threads,
    lookup: false,
    ...(draft ? { draftModelPath: draftPath } : {}),
  });
  const cases: Record<string, { on: Side; off: Side; same: number; total: number }> = {};
  const draftMemory = { bytes: 0 };
  try {
    const n = count(ctx, 6, 2);
    const suites: Array<[string, InfillParams[]]> = [
      ['(a) ordinary completions', ordinaryPrompts(n)],
      ['(b) repeated structure', repeatedPrompts(n)],
    ];
    const on = startHost(params(true), dirs);
    const off = startHost(params(false), dirs);
    const loaded = await on.load(params(true));
    if (!loaded.draftModel) throw new Error(loaded.draftRefusal ?? 'The draft model did not load.');
    draftMemory.bytes = loaded.draftModel.memoryBytes;
    await off.load(params(false));
    for (const [name, prompts] of suites) {
      const c = (cases[name] = { on: newSide(), off: newSide(), same: 0, total: 0 });
      for (const p of prompts) {
        // Alternate which goes first, so neither side always meets a warmer cache.
        const first = c.total % 2 === 0;
        const a: GenerationResult = first ? await on.infill(p) : await off.infill(p);
        const b: GenerationResult = first ? await off.infill(p) : await on.infill(p);
        const [withDraft, without] = first ? [a, b] : [b, a];
        add(c.on, withDraft);
        add(c.off, without);
        c.total++;
        if (withDraft.text === without.text && withDraft.tokens === without.tokens) c.same++;
      }
    }
    await on.shutdown(5000);
    await off.shutdown(5000);
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const rows = Object.entries(cases).map(([name, c]) => {
    const speedOn = median(c.on.tokPerS);
    const speedOff = median(c.off.tokPerS);
    return {
      case: name,
      tokPerSDraft: round(speedOn, 1),
      tokPerSAlone: round(speedOff, 1),
      speedup: round(speedOn / speedOff, 2),
      msDraft: Math.round(median(c.on.ms)),
      msAlone: Math.round(median(c.off.ms)),
      drafted: c.on.drafted,
      accepted: c.on.accepted,
      acceptedPercent: c.on.drafted ? Math.round((c.on.accepted * 100) / c.on.drafted) : 0,
      identicalAnswers: `${c.same}/${c.total}`,
    };
  });
  printTable(
    'Draft model vs none (large generated model, prompt lookup off on both)',
    ['case', 'tok/s draft', 'tok/s alone', 'x', 'ms draft', 'ms alone', 'drafted', 'accepted', 'same'],
    rows.map((r) => [
      r.case,
      r.tokPerSDraft,
      r.tokPerSAlone,
      r.speedup,
      r.msDraft,
      r.msAlone,
      r.drafted,
      `${r.accepted} (${r.acceptedPercent}%)`,
      r.identicalAnswers,
    ]),
  );
  const file = writeResult('draftModel', resultHeader('draftModel', load), {
    draftModel: path.basename(draftPath),
    draftMemoryBytes: draftMemory.bytes,
    rows,
  });
  return {
    name: 'draftModel',
    file,
    verdicts: [
      ...rows.map((r) => ({
        figure: `draft model ${r.case} speed-up`,
        value: `${r.speedup}x`,
        target: 'none (random weights)',
        met: null,
      })),
      ...rows.map((r) => ({
        figure: `draft model ${r.case} identical answers`,
        value: r.identicalAnswers,
        target: 'all',
        met: r.identicalAnswers.split('/')[0] === r.identicalAnswers.split('/')[1],
      })),
    ],
  };
}
