// Several candidates (Show Next): what the first suggestion costs against each further one, side
// by side at the same places, on one model host of the large generated model. The first is the
// greedy infill the product runs; the others are the draws the server asks for on Show Next (the
// same params with candidates.ts's sampling), each after the one before, as the server runs them.
// Two cases for the first: (a) at a new place (its prompt read in full, as after opening a file
// or jumping), (b) after a keystroke (the prompt up to the key already held, as while typing).
// Every request generates up to maxTokens (no line limit), so the times compare like for like.
// (c) is (a) with the suggestion that follows the first one's acceptance computed in between, as
// the server does in the background once the user pauses on a suggestion of several lines (a
// prefill, then an infill, of the accepted text's prompt): what the draws read again then.
import { rmSync } from 'node:fs';
import { samplingFor } from '../server/src/completion/candidates';
import type { GenerationResult, InfillParams, LoadParams } from '../server/src/engine/types';
import { startBenchHost } from './lib/benchHost';
import { gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { sampleDocument } from './lib/document';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';

const maxTokens = 64;
/** The default of localLlm.completion.candidates: the first and two draws. */
const candidates = 3;

const infill = (prefix: string, middle: string, suffix: string): InfillParams => ({
  prefix,
  middle,
  suffix,
  prefixTokens: 1536,
  suffixTokens: 128,
  maxTokens,
  maxLines: 1000,
  stopTexts: [],
});

/** Places in the middle of lines spread over the sample file, with the file's text after them as the suffix. */
function places(n: number): InfillParams[] {
  const lines = sampleDocument.split('\n');
  return Array.from({ length: n }, (_, i) => {
    const at = Math.floor(((i + 1) * lines.length) / (n + 1));
    const line = lines[at];
    const indent = line.length - line.trimStart().length;
    const cut = indent + Math.min(6, line.trimStart().length);
    return infill(lines.slice(0, at).join('\n') + '\n', line.slice(0, cut), [line.slice(cut), ...lines.slice(at + 1, at + 40)].join('\n'));
  });
}

/**
 * The prompt at the place where accepting `text` at `p` leaves the cursor (what the server
 * prefetches), `text` taken as a suggestion of several lines: the case where the prefetch moves
 * the text before the cursor line, and so the prompt the draws need.
 */
function acceptedPrompt(p: InfillParams, text: string): InfillParams {
  const before = p.prefix + p.middle + (text.includes('\n') ? text : `${text}\n`);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { ...p, prefix: before.slice(0, lineStart), middle: before.slice(lineStart) };
}

interface Column {
  ms: number[];
  evaluated: number[];
  generated: number[];
}

const column = (): Column => ({ ms: [], evaluated: [], generated: [] });

function add(c: Column, r: GenerationResult): void {
  c.ms.push(r.figures.ms);
  c.evaluated.push(r.figures.evaluatedTokens);
  c.generated.push(r.figures.generatedTokens);
}

export async function runCandidates(ctx: BenchContext): Promise<BenchOutcome> {
  const load = loadAverage();
  const dirs: string[] = [];
  const params: LoadParams = { modelPath: ctx.largeModel, gpu, gpuLayers, contextSize: 4096, threads };
  const host = startBenchHost(params, 'candidates', dirs, { hostGraceMs: 1000 });
  const cases: Record<string, Column[]> = {};
  try {
    await host.load(params);
    const n = count(ctx, 4, 2);
    // A first request warms the host up (its first decode allocates), unmeasured.
    await host.infill(places(1)[0]!);
    for (const name of ['(a) first at a new place', '(b) first after a keystroke', '(c) as (a), next suggestion prefetched']) {
      const columns = (cases[name] = Array.from({ length: candidates }, column));
      for (const p of places(n)) {
        // (b): the request of the key before, so that the first reads only the key's own tokens.
        if (name.startsWith('(b)')) await host.infill({ ...p, middle: p.middle.slice(0, -1) });
        const first = await host.infill(p);
        add(columns[0]!, first);
        if (name.startsWith('(c)')) {
          const accepted = acceptedPrompt(p, first.text);
          await host.prefill(accepted);
          await host.infill(accepted);
        }
        for (let draw = 1; draw < candidates; draw++) add(columns[draw]!, await host.infill({ ...p, sampling: samplingFor(draw - 1) }));
      }
    }
    await host.shutdown(5000);
  } finally {
    if (!host.exit) await host.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  const rows = Object.entries(cases).map(([name, columns]) => {
    const firstMs = median(columns[0]!.ms);
    return {
      case: name,
      firstMs: Math.round(firstMs),
      firstEvaluated: median(columns[0]!.evaluated),
      extras: columns.slice(1).map((c, i) => ({
        candidate: i + 2,
        ms: Math.round(median(c.ms)),
        ratio: round(median(c.ms) / firstMs, 2),
        evaluated: median(c.evaluated),
        maxEvaluated: Math.max(...c.evaluated),
        generated: median(c.generated),
      })),
      firstGenerated: median(columns[0]!.generated),
    };
  });
  printTable(
    `First suggestion vs further candidates (large generated model, ${maxTokens} tokens each, medians)`,
    [
      'case',
      'first ms',
      'evaluated',
      ...rows[0]!.extras.flatMap((e) => [`#${e.candidate} ms`, `#${e.candidate} x`, `#${e.candidate} evaluated`]),
    ],
    rows.map((r) => [
      r.case,
      r.firstMs,
      r.firstEvaluated,
      ...r.extras.flatMap((e) => [e.ms, e.ratio, `${e.evaluated} (max ${e.maxEvaluated})`]),
    ]),
  );
  const file = writeResult('candidates', resultHeader('candidates', load), { maxTokens, candidates, rows });
  return {
    name: 'candidates',
    file,
    verdicts: rows.flatMap((r) => [
      {
        figure: `candidates ${r.case}: second vs first`,
        value: `${r.extras[0]!.ratio}x`,
        target: '< 0.6x',
        met: r.extras[0]!.ratio < 0.6,
      },
      {
        figure: `candidates ${r.case}: prompt tokens evaluated per further candidate`,
        value: String(Math.max(...r.extras.map((e) => e.maxEvaluated))),
        target: '0 or a handful',
        met: Math.max(...r.extras.map((e) => e.maxEvaluated)) <= 4,
      },
    ]),
  };
}
