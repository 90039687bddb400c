// Prompt lookup on and off, side by side: two model hosts of the large generated model (one with
// localLlm.completion.lookup off), the same requests alternately to each, on (a) ordinary
// completions at points of a real TypeScript file, (b) completions inside a repeated structure
// (the next row of a table the prompt already holds), (c) chat answers about such a structure.
// Generation speed after the first token (tok/s) and the whole request's time, medians; and how
// many drafted tokens the model accepted. Random weights write noise: drafts are accepted only
// where that noise loops or happens to repeat the prompt, so (b) shows the mechanism's cost and
// its gain on loops, not the acceptance a real model reaches on real code.
import { rmSync } from 'node:fs';
import type { HostProcess } from '../server/src/engine/local/hostProcess';
import type { GenerationResult, InfillParams, LoadParams } from '../server/src/engine/types';
import { startBenchHost } from './lib/benchHost';
import { gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { sampleDocument } from './lib/document';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { comparisonRows, identicalVerdicts, newComparison, printComparison, runOnBoth, type Comparison } from './lib/sideBySide';

const maxTokens = 64;
const hooks = { hostGraceMs: 1000 };

const infill = (prefix: string, middle: string): InfillParams => ({
  prefix,
  middle,
  suffix: '\n',
  prefixTokens: 1536,
  suffixTokens: 128,
  maxTokens,
  maxLines: 1000,
  stopTexts: [],
});

/** Completions at line starts spread over the sample file. */
export function ordinaryPrompts(n: number): InfillParams[] {
  const lines = sampleDocument.split('\n');
  return Array.from({ length: n }, (_, i) => {
    const at = Math.floor(((i + 1) * lines.length) / (n + 1));
    const line = lines[at];
    const indent = line.length - line.trimStart().length;
    return infill(lines.slice(0, at).join('\n') + '\n', line.slice(0, indent + Math.min(4, line.trimStart().length)));
  });
}

/** The next row of a table of rows the prompt holds, each one differing by its numbers. */
export function repeatedPrompts(n: number): InfillParams[] {
  return Array.from({ length: n }, (_, i) => {
    const rows = Array.from({ length: 16 + i }, (_, r) => `  { id: ${r}, name: 'item${r}', price: ${r * 3}, inStock: true },\n`).join('');
    return infill(`export const items = [\n${rows}`, `  { id: ${16 + i}, `);
  });
}

export async function runLookup(ctx: BenchContext): Promise<BenchOutcome> {
  const load = loadAverage();
  const dirs: string[] = [];
  const params = (lookup: boolean): LoadParams => ({ modelPath: ctx.largeModel, gpu, gpuLayers, contextSize: 4096, threads, lookup });
  const cases: Record<string, Comparison> = {};
  try {
    const n = count(ctx, 8, 2);
    const suites: Array<[string, () => Array<(h: HostProcess) => Promise<GenerationResult>>]> = [
      ['(a) ordinary completions', () => ordinaryPrompts(n).map((p) => (h: HostProcess) => h.infill(p))],
      ['(b) repeated structure', () => repeatedPrompts(n).map((p) => (h: HostProcess) => h.infill(p))],
      [
        '(c) chat',
        () =>
          repeatedPrompts(n).map(
            (p) => (h: HostProcess) =>
              h.chat({ messages: [{ role: 'user', text: `Add three more rows:\n${p.prefix}` }], maxTokens }, () => undefined),
          ),
      ],
    ];
    for (const [name, make] of suites) {
      // Fresh hosts per case: a case whose drafts do not pay turns them off for the rest of the load.
      const on = startBenchHost(params(true), 'lookup', dirs, hooks);
      const off = startBenchHost(params(false), 'lookup', dirs, hooks);
      await on.load(params(true));
      await off.load(params(false));
      const c = (cases[name] = newComparison());
      for (const run of make()) await runOnBoth(c, on, off, run);
      await on.shutdown(5000);
      await off.shutdown(5000);
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const rows = comparisonRows(cases);
  printComparison('Prompt lookup on vs off (large generated model)', { on: 'on', off: 'off' }, rows);
  const file = writeResult('lookup', resultHeader('lookup', load), { maxTokens, rows });
  const target = (name: string, min: number) => {
    const r = rows.find((x) => x.case === name);
    return {
      figure: `lookup ${name} speed-up`,
      value: r ? `${r.speedup}x` : 'n/a',
      target: `>= ${min}x`,
      met: r ? r.speedup >= min : null,
    };
  };
  return {
    name: 'lookup',
    file,
    verdicts: [
      target('(a) ordinary completions', 0.95),
      target('(b) repeated structure', 1.5),
      target('(c) chat', 0.95),
      ...identicalVerdicts('lookup', rows),
    ],
  };
}
