// 1. Completion overhead: inline completions through the LSP server (gate, IPC to the model host,
// post-processing) against the same infill called directly on node-llama-cpp, interleaved.
import { postprocess } from '../server/src/completion/postprocess';
import { DirectEngine } from './direct/engine';
import { serverSettings, gpu, gpuLayers, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { cursorAt, infillParamsFor, sampleDocument } from './lib/document';
import { close, complete, startServer } from './lib/lsp';
import { resultHeader, loadAverage, writeResult } from './lib/results';
import { round, roundSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 4096;
const limits = { maxTokens: 64, maxLines: 8 };
const targetP50Ms = 5;
const targetP95Ms = 15;
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

export async function runOverhead(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('overhead', loadAverage());
  const iterations = count(ctx, 200, 20);
  const warmup = count(ctx, 10, 3);
  const server = await startServer(
    serverSettings(ctx.tinyModel, { contextSize, completion: { debounceMs: 0, maxTokens: limits.maxTokens, maxLines: limits.maxLines } }),
  );
  const engine = new DirectEngine();
  try {
    await server.waitForState('ready', 120_000);
    await engine.request({ op: 'load', params: { modelPath: ctx.tinyModel, gpu, gpuLayers, contextSize, threads } });
    const before = (await server.status()).completions;

    const lspMs: number[] = [];
    const directMs: number[] = [];
    const directRoundTripMs: number[] = [];
    let same = 0;
    let shown = 0;
    let promptTokens = 0;
    for (let i = 0; i < warmup + iterations; i++) {
      const position = cursorAt(i);
      // A fresh document per request, so the server's cache never answers.
      const uri = `file:///bench/overhead-${i}.ts`;
      server.open(uri, sampleDocument);
      const params = infillParamsFor(sampleDocument, position, limits);
      const viaLsp = async (): Promise<{ text: string | null; ms: number }> => complete(server, uri, position);
      const direct = async (): Promise<{ text: string | null; ms: number; roundTrip: number; promptTokens: number }> => {
        const t = performance.now();
        const { result } = await engine.request({ op: 'infill', params });
        const roundTrip = performance.now() - t;
        const text = postprocess(result.text, { prefix: params.prefix + params.middle, suffix: params.suffix, maxLines: limits.maxLines });
        return { text, ms: result.ms, roundTrip, promptTokens: result.promptTokens };
      };
      // A B, then B A: neither side always runs right after the other.
      let a: { text: string | null; ms: number };
      let b: Awaited<ReturnType<typeof direct>>;
      if (i % 2 === 0) {
        a = await viaLsp();
        b = await direct();
      } else {
        b = await direct();
        a = await viaLsp();
      }
      close(server, uri);
      if (i < warmup) continue;
      lspMs.push(a.ms);
      directMs.push(b.ms);
      directRoundTripMs.push(b.roundTrip);
      promptTokens += b.promptTokens;
      if (a.text === b.text) same++;
      if (a.text !== null) shown++;
    }
    const after = (await server.status()).completions;
    const lsp = summarize(lspMs);
    const dir = summarize(directMs);
    const rt = summarize(directRoundTripMs);
    const diffP50 = lsp.p50 - dir.p50;
    const diffP95 = lsp.p95 - dir.p95;
    const pairDiff = summarize(lspMs.map((x, i) => x - directMs[i]));
    const cacheHits = after.cacheHits - before.cacheHits;
    const generated = after.generated - before.generated;

    printTable(
      `Completion overhead: ${iterations} inline completions, tiny model, ${threads} thread(s), debounce 0, maxTokens ${limits.maxTokens}`,
      ['', 'p50 ms', 'p95 ms', 'mean ms', 'max ms'],
      [
        ['LSP server (client round trip)', lsp.p50, lsp.p95, lsp.mean, lsp.max],
        ['direct infill call (in process)', dir.p50, dir.p95, dir.mean, dir.max],
        ['direct incl. IPC round trip', rt.p50, rt.p95, rt.mean, rt.max],
        ['difference (LSP - direct)', diffP50, diffP95, lsp.mean - dir.mean, null],
        ['per-pair difference', pairDiff.p50, pairDiff.p95, pairDiff.mean, pairDiff.max],
      ],
    );
    process.stdout.write(
      `Same shown text on both sides (greedy output deterministic): ${same}/${iterations}; ` +
        `requests with an item: ${shown}; server generations: ${generated}, cache hits: ${cacheHits}; ` +
        `mean prompt ${Math.round(promptTokens / iterations)} tokens.\n`,
    );

    const file = writeResult('overhead', header, {
      model: { path: ctx.tinyModel, kind: 'tiny random (2 layers x 64)' },
      settings: { contextSize, threads, gpu, debounceMs: 0, ...limits },
      iterations,
      warmup,
      lspMs: roundSummary(lsp),
      directMs: roundSummary(dir),
      directRoundTripMs: roundSummary(rt),
      differenceMs: { p50: round(diffP50), p95: round(diffP95), mean: round(lsp.mean - dir.mean) },
      perPairDifferenceMs: roundSummary(pairDiff),
      deterministic: { sameText: same, of: iterations },
      serverCounters: { generated, cacheHits },
      meanPromptTokens: Math.round(promptTokens / iterations),
      targets: { p50Ms: targetP50Ms, p95Ms: targetP95Ms },
      samples: { lspMs: lspMs.map((x) => round(x)), directMs: directMs.map((x) => round(x)) },
    });
    return {
      name: 'overhead',
      file,
      verdicts: [
        {
          figure: 'Completion overhead, p50',
          value: `${signed(diffP50)} ms (${lsp.p50.toFixed(1)} vs ${dir.p50.toFixed(1)})`,
          target: `<= +${targetP50Ms} ms`,
          met: diffP50 <= targetP50Ms,
        },
        {
          figure: 'Completion overhead, p95',
          value: `${signed(diffP95)} ms (${lsp.p95.toFixed(1)} vs ${dir.p95.toFixed(1)})`,
          target: `<= +${targetP95Ms} ms`,
          met: diffP95 <= targetP95Ms,
        },
        { figure: 'Same greedy output through LSP and direct', value: `${same}/${iterations}`, target: '-', met: null },
      ],
    };
  } finally {
    await engine.stop();
    await server.stop();
  }
}
