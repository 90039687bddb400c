// 2. Wake latency: a completion sent while the model sleeps, timed until its result, against the
// direct engine doing the same load + context + first infill. Deep sleep is compared with a fresh
// direct process (the host exits in deep sleep), light sleep with a direct process that keeps its
// llama.cpp backend and reloads in place. The model file warm and cold in the page cache. Deep
// sleep twice: with its standby host (localLlm.sleep.standby, the default; measured once the
// standby finished its warm-up, as when a user comes back minutes later) and without; and the
// deep wake against the light one, side by side. Each wake's breakdown from the host's log (process
// start, import, backend, weights, context, state restore). BENCH_WAKE_DIRECT=0 skips the direct
// baselines (the deep/light comparison needs none).
import { rmSync, statSync } from 'node:fs';
import type { ModelStatus, SleepMode } from '../server/src/shared/protocol';
import type { WakeBreakdown } from '../server/src/host/wakeBreakdown';
import { DirectEngine } from './direct/engine';
import type { EngineLoadParams, EngineTimings } from './direct/engineProtocol';
import { gpu, gpuLayers, serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome, type Verdict } from './lib/context';
import { infillParamsFor, sampleDocument } from './lib/document';
import { close, complete, sleep, startServer, wake, type TestServer } from './lib/lsp';
import { dropPageCache, residentBytes } from './lib/pageCache';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round, roundSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';
import { benchRuntimeDir, lastBreakdown, standbysReady, waitForStandby } from './lib/standby';

const contextSize = 4096;
const limits = { maxTokens: 16, maxLines: 8 };
const targetRatio = 1.1;
/** Deep wake (with its standby) against the light one (#23). */
const deepToLightTarget = 1.5;
// A short file: the wake, not the prompt, should dominate.
const wakeDocument = sampleDocument.split('\n').slice(0, 8).join('\n') + '\n';
const cursor = { line: 3, character: 30 };

type Cache = 'warm' | 'cold';
/** How the model sleeps: deep with its standby host, deep without, or light. */
type WakeMode = 'deep' | 'deep-nostandby' | 'light';
const wakeModes: WakeMode[] = ['deep', 'deep-nostandby', 'light'];
const sleepModeOf = (mode: WakeMode): SleepMode => (mode === 'light' ? 'light' : 'deep');

interface Sample {
  lspMs: number;
  /** NaN when the direct baselines are skipped. */
  directMs: number;
  /** The server's own measure of the wake (state waking -> ready). */
  serverWakeMs: number | null;
  directTimings: EngineTimings;
  directInfillMs: number;
  residentBeforeLsp: number | null;
  residentBeforeDirect: number | null;
  /** The host's own account of the LSP wake; null when it logged none. */
  breakdown: WakeBreakdown | null;
  /** RSS of the standby host while asleep; null without one. */
  standbyRssBytes: number | null;
}

function settingsFor(ctx: BenchContext, mode: WakeMode): Record<string, unknown> {
  return serverSettings(ctx.largeModel, {
    contextSize,
    sleepMode: sleepModeOf(mode),
    sleep: { standby: mode !== 'deep-nostandby' },
    completion: { debounceMs: 0, ...limits },
  });
}

/** The model in words: a shape-true one (BENCH_SHAPE) or the large test model. */
const modelKind = (): string =>
  process.env['BENCH_SHAPE'] ? `${process.env['BENCH_SHAPE']} shape, random weights` : 'large random (8 layers x 1024, F16, 258 MiB)';

const noTimings: EngineTimings = { importMs: null, getLlamaMs: null, loadModelMs: Number.NaN, createContextMs: Number.NaN };

async function waitUntil(server: TestServer, test: (s: ModelStatus) => boolean, what: string): Promise<ModelStatus> {
  for (let i = 0; i < 600; i++) {
    const s = await server.status();
    if (test(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting until ${what}.`);
}

export async function runWake(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('wake', loadAverage());
  const reps = count(ctx, Number(process.env['BENCH_WAKE_REPS'] ?? 5), 1);
  const caches: Cache[] = ctx.pageCacheProblem === null ? ['warm', 'cold'] : ['warm'];
  const loadParams: EngineLoadParams = { modelPath: ctx.largeModel, gpu, gpuLayers, contextSize, threads };
  const infill = infillParamsFor(wakeDocument, cursor, limits);
  const modelBytes = statSync(ctx.largeModel).size;

  const withDirect = process.env['BENCH_WAKE_DIRECT'] !== '0';
  const runtimeDir = benchRuntimeDir();
  const server = await startServer(settingsFor(ctx, 'deep'), { env: { LOCAL_LLM_RUNTIME_DIR: runtimeDir } });
  const inPlace = new DirectEngine();
  const samples: Record<string, Sample[]> = {};
  let docs = 0;
  try {
    await server.waitForState('ready', 180_000);
    if (withDirect) await inPlace.request({ op: 'load', params: loadParams });

    // A cold sample needs every process to have unmapped the model first: the page cache keeps
    // pages that any process still maps, however it is dropped.
    let inPlaceLoaded = withDirect;
    const unloadInPlace = async (): Promise<void> => {
      if (!inPlaceLoaded) return;
      await inPlace.request({ op: 'unload' });
      inPlaceLoaded = false;
    };
    const serverAsleep = async (): Promise<ModelStatus> => {
      if ((await server.status()).state !== 'sleeping') await sleep(server);
      return waitUntil(server, (x) => x.state === 'sleeping', 'the model sleeps');
    };

    const lspWake = async (
      mode: WakeMode,
      cache: Cache,
    ): Promise<{
      ms: number;
      serverWakeMs: number | null;
      resident: number | null;
      breakdown: WakeBreakdown | null;
      standbyRssBytes: number | null;
    }> => {
      server.configure(settingsFor(ctx, mode));
      const s = await server.status();
      if (s.state !== 'ready') await wake(server);
      // Use the model once, so the sleep frees a model that has really run.
      const warmUri = `file:///bench/wake-use-${docs++}.ts`;
      server.open(warmUri, wakeDocument);
      await complete(server, warmUri, cursor);
      close(server, warmUri);
      const standbysBefore = standbysReady(runtimeDir);
      let asleep = await serverAsleep();
      if (mode !== 'light' && asleep.memory.hostPid !== null) throw new Error('Deep sleep left the model host running.');
      if (mode === 'deep') {
        if (!(await waitForStandby(server, runtimeDir, standbysBefore))) throw new Error('No standby host after the deep sleep.');
        asleep = await server.status();
      }
      if (cache === 'cold') {
        await unloadInPlace();
        dropPageCache();
      }
      const resident = residentBytes(ctx.largeModel);
      const uri = `file:///bench/wake-${docs++}.ts`;
      server.open(uri, wakeDocument);
      const wakesBefore = asleep.counters.wakes;
      const logsBefore = server.logs.length;
      const result = await complete(server, uri, cursor);
      close(server, uri);
      const after = await server.status();
      if (after.counters.wakes !== wakesBefore + 1) throw new Error(`Expected one wake, saw ${after.counters.wakes - wakesBefore}.`);
      return {
        ms: result.ms,
        serverWakeMs: after.counters.lastWakeMs,
        resident,
        breakdown: lastBreakdown(server, logsBefore),
        standbyRssBytes: asleep.memory.standbyRssBytes ?? null,
      };
    };

    const directWake = async (
      mode: WakeMode,
      cache: Cache,
    ): Promise<{ ms: number; timings: EngineTimings; infillMs: number; resident: number | null }> => {
      if (!withDirect) return { ms: Number.NaN, timings: noTimings, infillMs: Number.NaN, resident: null };
      if (cache === 'cold') await serverAsleep();
      if (mode === 'light') {
        if (!inPlaceLoaded) await inPlace.request({ op: 'load', params: loadParams });
        await inPlace.request({ op: 'infill', params: infill });
        inPlaceLoaded = true;
        await unloadInPlace();
        if (cache === 'cold') dropPageCache();
        const resident = residentBytes(ctx.largeModel);
        const t = performance.now();
        const r = await inPlace.request({ op: 'wakeInfill', load: loadParams, infill });
        inPlaceLoaded = true;
        return { ms: performance.now() - t, timings: r.timings, infillMs: r.result.ms, resident };
      }
      if (cache === 'cold') {
        await unloadInPlace();
        dropPageCache();
      }
      const resident = residentBytes(ctx.largeModel);
      // From the process start, as the server's deep wake starts a new model host.
      const fresh = new DirectEngine();
      try {
        const r = await fresh.request({ op: 'wakeInfill', load: loadParams, infill });
        return { ms: performance.now() - fresh.spawnedAt, timings: r.timings, infillMs: r.result.ms, resident };
      } finally {
        await fresh.stop();
      }
    };

    // One untimed round of each, so that first-use costs (JIT, the OS's caches) do not land in a sample.
    await lspWake('deep', 'warm');
    await directWake('deep', 'warm');

    for (const mode of wakeModes) {
      for (const cache of caches) {
        const key = `${mode}/${cache}`;
        samples[key] = [];
        for (let r = 0; r < reps; r++) {
          let a: Awaited<ReturnType<typeof lspWake>>;
          let b: Awaited<ReturnType<typeof directWake>>;
          if (r % 2 === 0) {
            a = await lspWake(mode, cache);
            b = await directWake(mode, cache);
          } else {
            b = await directWake(mode, cache);
            a = await lspWake(mode, cache);
          }
          samples[key].push({
            lspMs: a.ms,
            directMs: b.ms,
            serverWakeMs: a.serverWakeMs,
            directTimings: b.timings,
            directInfillMs: b.infillMs,
            residentBeforeLsp: a.resident,
            residentBeforeDirect: b.resident,
            breakdown: a.breakdown,
            standbyRssBytes: a.standbyRssBytes,
          });
          const notCold = cache === 'cold' && [a.resident, b.resident].some((x) => x !== null && x > modelBytes * 0.05);
          process.stdout.write(
            `  ${key} #${r + 1}: LSP ${a.ms.toFixed(0)} ms (server wake ${a.serverWakeMs ?? '?'} ms), direct ${b.ms.toFixed(0)} ms${notCold ? ' (WARNING: the model was still in the page cache)' : ''}\n`,
          );
        }
      }
    }
  } finally {
    await inPlace.stop();
    await server.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  }

  const rows: (string | number | null)[][] = [];
  const breakdownRows: (string | number | null)[][] = [];
  const verdicts: Verdict[] = [];
  const summary: Record<string, object> = {};
  for (const [key, list] of Object.entries(samples)) {
    const lsp = summarize(list.map((s) => s.lspMs));
    const dir = summarize(list.map((s) => s.directMs));
    const ratio = lsp.p50 / dir.p50;
    const serverWake = median(list.map((s) => s.serverWakeMs ?? Number.NaN));
    const t = (f: (x: EngineTimings) => number | null): number => median(list.map((s) => f(s.directTimings) ?? Number.NaN));
    rows.push([
      key,
      lsp.p50,
      dir.p50,
      ratio,
      lsp.max,
      dir.max,
      serverWake,
      t((x) => x.importMs),
      t((x) => x.getLlamaMs),
      t((x) => x.loadModelMs),
      t((x) => x.createContextMs),
      median(list.map((s) => s.directInfillMs)),
    ]);
    const b = (f: (x: WakeBreakdown) => number | null): number =>
      median(list.map((s) => (s.breakdown ? (f(s.breakdown) ?? 0) : Number.NaN)));
    breakdownRows.push([
      key,
      list[0]?.breakdown?.host ?? '?',
      b((x) => x.processStartMs),
      b((x) => x.importMs),
      b((x) => x.getLlamaMs),
      b((x) => x.checkMs),
      b((x) => x.loadModelMs),
      b((x) => x.createContextMs),
      b((x) => x.restoreMs),
      serverWake,
      median(list.map((s) => (s.standbyRssBytes === null ? Number.NaN : s.standbyRssBytes / 1048576))),
    ]);
    if (withDirect)
      verdicts.push({
        figure: `Wake, ${key.replace('/', ' sleep, ')} page cache`,
        value: `${(lsp.p50 / 1000).toFixed(2)} s vs ${(dir.p50 / 1000).toFixed(2)} s direct = ${ratio.toFixed(2)}x`,
        target: `<= ${targetRatio}x`,
        met: ratio <= targetRatio,
      });
    summary[key] = {
      breakdownMedianMs: {
        processStart: round(b((x) => x.processStartMs)),
        import: round(b((x) => x.importMs)),
        backend: round(b((x) => x.getLlamaMs)),
        fileChecks: round(b((x) => x.checkMs)),
        weights: round(b((x) => x.loadModelMs)),
        context: round(b((x) => x.createContextMs)),
        restore: round(b((x) => x.restoreMs)),
      },
      standbyRssMBMedian: round(median(list.map((s) => (s.standbyRssBytes === null ? Number.NaN : s.standbyRssBytes / 1048576)))),
      lspMs: roundSummary(lsp),
      directMs: roundSummary(dir),
      ratioOfMedians: round(ratio, 3),
      serverWakeMsMedian: round(serverWake),
      samples: list.map((s) => ({
        lspMs: round(s.lspMs),
        directMs: round(s.directMs),
        serverWakeMs: s.serverWakeMs,
        direct: {
          importMs: s.directTimings.importMs === null ? null : round(s.directTimings.importMs),
          getLlamaMs: s.directTimings.getLlamaMs === null ? null : round(s.directTimings.getLlamaMs),
          loadModelMs: round(s.directTimings.loadModelMs),
          createContextMs: round(s.directTimings.createContextMs),
          infillMs: round(s.directInfillMs),
        },
        modelBytesInPageCache: { lsp: s.residentBeforeLsp, direct: s.residentBeforeDirect },
        breakdown: s.breakdown,
        standbyRssBytes: s.standbyRssBytes,
      })),
    };
  }
  // The deep wake against the light one, side by side in this run: the server's wake (waking ->
  // ready) and the whole first completion.
  const deepToLight: Record<string, object> = {};
  for (const cache of caches) {
    const of = (mode: WakeMode, f: (s: Sample) => number | null): number =>
      median((samples[`${mode}/${cache}`] ?? []).map((s) => f(s) ?? Number.NaN));
    for (const deep of ['deep', 'deep-nostandby'] as const) {
      const wakeRatio = of(deep, (s) => s.serverWakeMs) / of('light', (s) => s.serverWakeMs);
      const lspRatio = of(deep, (s) => s.lspMs) / of('light', (s) => s.lspMs);
      deepToLight[`${deep}/${cache}`] = { serverWakeRatio: round(wakeRatio, 3), firstCompletionRatio: round(lspRatio, 3) };
      verdicts.push({
        figure: `Deep wake (${deep === 'deep' ? 'standby' : 'no standby'}) vs light wake, ${cache} page cache`,
        value: `${Math.round(of(deep, (s) => s.serverWakeMs))} vs ${Math.round(of('light', (s) => s.serverWakeMs))} ms = ${wakeRatio.toFixed(2)}x (first completion ${lspRatio.toFixed(2)}x)`,
        target: deep === 'deep' ? `<= ${deepToLightTarget}x` : 'the old deep wake',
        met: deep === 'deep' ? wakeRatio <= deepToLightTarget : null,
      });
    }
  }
  printTable(
    `Wake latency (median of ${reps}): ${modelKind()}, context ${contextSize}, ${threads} thread(s), completion of ${limits.maxTokens} tokens; ms`,
    [
      'sleep/cache',
      'LSP',
      'direct',
      'ratio',
      'LSP max',
      'direct max',
      'server wake',
      'd.import',
      'd.getLlama',
      'd.load',
      'd.context',
      'd.infill',
    ],
    rows,
  );
  printTable(
    `Where the LSP wake's time went (host log, median of ${reps}; none = done before the wake, or kept); ms`,
    [
      'sleep/cache',
      'host',
      'process start',
      'import',
      'backend',
      'file checks',
      'weights',
      'context',
      'restore',
      'server wake',
      'standby MB',
    ],
    breakdownRows,
  );
  if (ctx.pageCacheProblem) process.stdout.write(`Cold page cache not measured: ${ctx.pageCacheProblem}.\n`);
  const file = writeResult('wake', header, {
    model: { path: ctx.largeModel, kind: modelKind() },
    settings: { contextSize, threads, gpu, ...limits },
    repetitions: reps,
    coldPageCache: ctx.pageCacheProblem ?? 'dropped with echo 3 > /proc/sys/vm/drop_caches before each cold sample',
    baseline: {
      deep: 'a fresh Node process: import node-llama-cpp, getLlama, loadModel, createContext, infill; timed from its spawn to the result',
      light: 'the same process, backend kept: loadModel, createContext, infill; timed around the request',
      skipped: withDirect ? null : 'BENCH_WAKE_DIRECT=0: no direct baselines in this run',
    },
    modes: {
      deep: 'deep sleep with its standby host (localLlm.sleep.standby true), woken once the standby finished its warm-up',
      'deep-nostandby': 'deep sleep with localLlm.sleep.standby false: the wake starts a new host process',
      light: 'light sleep: the host process stays',
    },
    results: summary,
    deepToLight,
    targetRatio,
    deepToLightTarget,
  });
  return { name: 'wake', file, verdicts };
}
