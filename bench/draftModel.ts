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
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { InfillParams, LoadParams } from '../server/src/engine/types';
import { cachedModel, largeOptions } from '../scripts/dev/models';
import { startBenchHost } from './lib/benchHost';
import { gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { ordinaryPrompts, repeatedPrompts } from './lookup';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { comparisonRows, identicalVerdicts, newComparison, printComparison, runOnBoth, type Comparison } from './lib/sideBySide';

// The confidence gate off: random weights are never sure enough to draft past it.
const hooks = { hostGraceMs: 1000, hostDraftConfidence: 0 };

/** The large model's vocabulary (the generator's options that make it are unchanged), far fewer weights. */
const largeDraft = (): Promise<string> =>
  cachedModel({ ...largeOptions, name: 'large-draft', layers: 1, embd: 256, ff: 512, heads: 4, seed: 3 });

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
  const cases: Record<string, Comparison> = {};
  const draftMemory = { bytes: 0 };
  try {
    const n = count(ctx, 6, 2);
    const suites: Array<[string, InfillParams[]]> = [
      ['(a) ordinary completions', ordinaryPrompts(n)],
      ['(b) repeated structure', repeatedPrompts(n)],
    ];
    // Fresh hosts per case, each under the 8 completions after which drafts this refused turn the
    // draft model off (lookupPayoff.ts): this measures drafting itself.
    for (const [name, prompts] of suites) {
      const on = startBenchHost(params(true), 'draft', dirs, hooks);
      const off = startBenchHost(params(false), 'draft', dirs, hooks);
      const loaded = await on.load(params(true));
      if (!loaded.draftModel) throw new Error(loaded.draftRefusal ?? 'The draft model did not load.');
      draftMemory.bytes = loaded.draftModel.memoryBytes;
      await off.load(params(false));
      const c = (cases[name] = newComparison());
      for (const p of prompts) await runOnBoth(c, on, off, (h) => h.infill(p));
      await on.shutdown(5000);
      await off.shutdown(5000);
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const rows = comparisonRows(cases);
  printComparison('Draft model vs none (large generated model, prompt lookup off on both)', { on: 'draft', off: 'alone' }, rows);
  const file = writeResult('draftModel', resultHeader('draftModel', load), {
    draftModel: path.basename(draftPath),
    draftMemoryBytes: draftMemory.bytes,
    // This result's own names for the two sides.
    rows: rows.map((r) => ({
      case: r.case,
      tokPerSDraft: r.tokPerSOn,
      tokPerSAlone: r.tokPerSOff,
      speedup: r.speedup,
      msDraft: r.msOn,
      msAlone: r.msOff,
      drafted: r.drafted,
      accepted: r.accepted,
      acceptedPercent: r.acceptedPercent,
      identicalAnswers: r.identicalAnswers,
    })),
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
      ...identicalVerdicts('draft model', rows),
    ],
  };
}
