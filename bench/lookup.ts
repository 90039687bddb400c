// Prompt lookup on and off, side by side: two model hosts of the large generated model (one with
// localLlm.completion.lookup off), the same requests alternately to each, on (a) ordinary
// completions at points of a real TypeScript file, (b) completions inside a repeated structure
// (the next row of a table the prompt already holds), (c) chat answers about such a structure.
// Generation speed after the first token (tok/s) and the whole request's time, medians; and how
// many drafted tokens the model accepted. Random weights write noise: drafts are accepted only
// where that noise loops or happens to repeat the prompt, so (b) shows the mechanism's cost and
// its gain on loops, not the acceptance a real model reaches on real code.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostProcess } from '../server/src/engine/local/hostProcess';
import type { GenerationResult, InfillParams, LoadParams } from '../server/src/engine/types';
import { testHooksEnv } from '../server/src/shared/testHooks';
import { gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { sampleDocument } from './lib/document';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';

const hostPath = path.resolve(__dirname, '..', 'dist', 'host.js');
const maxTokens = 64;

function startHost(params: LoadParams, dirs: string[]): HostProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-bench-lookup-'));
  dirs.push(dir);
  const { modelPath, contextSize } = params;
  return new HostProcess({
    hostPath,
    env: { ...process.env, LOCAL_LLM_RUNTIME_DIR: dir, ...testHooksEnv({ hostGraceMs: 1000 }) },
    identity: { modelPath, gpu, gpuLayers, contextSize, threads },
    hello: { idleMs: 0, sleepMode: 'deep', stateCapBytes: 0 },
  });
}

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

export interface Side {
  tokPerS: number[];
  ms: number[];
  drafted: number;
  accepted: number;
  generated: number;
}

export const newSide = (): Side => ({ tokPerS: [], ms: [], drafted: 0, accepted: 0, generated: 0 });

export function add(side: Side, r: GenerationResult): void {
  const f = r.figures;
  if (f.tokensPerSecond !== null) side.tokPerS.push(f.tokensPerSecond);
  side.ms.push(f.ms);
  side.drafted += f.draftedTokens ?? 0;
  side.accepted += f.acceptedTokens ?? 0;
  side.generated += f.generatedTokens;
}

export async function runLookup(ctx: BenchContext): Promise<BenchOutcome> {
  const load = loadAverage();
  const dirs: string[] = [];
  const params = (lookup: boolean): LoadParams => ({ modelPath: ctx.largeModel, gpu, gpuLayers, contextSize: 4096, threads, lookup });
  const cases: Record<string, { on: Side; off: Side; same: number; total: number }> = {};
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
      const on = startHost(params(true), dirs);
      const off = startHost(params(false), dirs);
      await on.load(params(true));
      await off.load(params(false));
      const c = (cases[name] = { on: newSide(), off: newSide(), same: 0, total: 0 });
      for (const run of make()) {
        // Alternate which goes first, so neither side always meets a warmer cache.
        const first = c.total % 2 === 0;
        const a = first ? await run(on) : await run(off);
        const b = first ? await run(off) : await run(on);
        const [withLookup, without] = first ? [a, b] : [b, a];
        add(c.on, withLookup);
        add(c.off, without);
        c.total++;
        if (withLookup.text === without.text && withLookup.tokens === without.tokens) c.same++;
      }
      await on.shutdown(5000);
      await off.shutdown(5000);
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const rows = Object.entries(cases).map(([name, c]) => {
    const speedOn = median(c.on.tokPerS);
    const speedOff = median(c.off.tokPerS);
    return {
      case: name,
      tokPerSOn: round(speedOn, 1),
      tokPerSOff: round(speedOff, 1),
      speedup: round(speedOn / speedOff, 2),
      msOn: Math.round(median(c.on.ms)),
      msOff: Math.round(median(c.off.ms)),
      drafted: c.on.drafted,
      accepted: c.on.accepted,
      acceptedPercent: c.on.drafted ? Math.round((c.on.accepted * 100) / c.on.drafted) : 0,
      identicalAnswers: `${c.same}/${c.total}`,
    };
  });
  printTable(
    'Prompt lookup on vs off (large generated model)',
    ['case', 'tok/s on', 'tok/s off', 'x', 'ms on', 'ms off', 'drafted', 'accepted', 'same'],
    rows.map((r) => [
      r.case,
      r.tokPerSOn,
      r.tokPerSOff,
      r.speedup,
      r.msOn,
      r.msOff,
      r.drafted,
      `${r.accepted} (${r.acceptedPercent}%)`,
      r.identicalAnswers,
    ]),
  );
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
      ...rows.map((r) => ({
        figure: `lookup ${r.case} identical answers`,
        value: r.identicalAnswers,
        target: 'all',
        met: r.identicalAnswers.split('/')[0] === r.identicalAnswers.split('/')[1],
      })),
    ],
  };
}
