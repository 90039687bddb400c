// 7. A model server as the engine: inline completions through our LSP server to a real
// llama-server (gate, prompt window, HTTP, post-processing) against the same /infill request sent
// to that llama-server directly, interleaved A B / B A; then the first completion after
// llama-server's own sleep (--sleep-idle-seconds), through us and directly.
import { postprocess } from '../server/src/completion/postprocess';
import { startLlamaServer } from '../test/fixtures/llamaServer';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { cursorAt, infillParamsFor, sampleDocument } from './lib/document';
import { close, complete, startServer, type TestServer } from './lib/lsp';
import { resultHeader, loadAverage, writeResult } from './lib/results';
import { round, roundSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

const limits = { maxTokens: 64, maxLines: 8 };
const targetP50Ms = 5;
const sleepSeconds = 2;
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/** The body our llama-server engine sends for these parameters (engine/http/llamaServer.ts). */
function infillBody(params: ReturnType<typeof infillParamsFor>): Record<string, unknown> {
  return {
    input_prefix: params.prefix,
    input_suffix: params.suffix,
    prompt: params.middle,
    input_extra: [],
    n_predict: params.maxTokens,
    stop: params.stopTexts,
    stream: true,
    cache_prompt: true,
  };
}

/** The same request straight to llama-server: timed to the end of its stream, then post-processed. */
async function direct(url: string, params: ReturnType<typeof infillParamsFor>): Promise<{ ms: number; text: string | null }> {
  const started = performance.now();
  const response = await fetch(`${url}/infill`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(infillBody(params)),
  });
  const body = await response.text();
  let text = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const event = JSON.parse(line.slice(6)) as { content?: string };
    text += event.content ?? '';
  }
  const ms = performance.now() - started;
  return { ms, text: postprocess(text, { prefix: params.prefix + params.middle, suffix: params.suffix, maxLines: limits.maxLines }) };
}

async function asleep(url: string): Promise<boolean> {
  const props = (await (await fetch(`${url}/props`)).json()) as { is_sleeping?: boolean };
  return props.is_sleeping === true;
}

async function untilAsleep(url: string): Promise<void> {
  while (!(await asleep(url))) await new Promise((r) => setTimeout(r, 100));
}

export async function runRemote(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('remote', loadAverage());
  const iterations = count(ctx, 200, 20);
  const warmup = count(ctx, 10, 3);
  const wakes = count(ctx, 5, 1);
  const llama = await startLlamaServer({ args: ['--sleep-idle-seconds', String(sleepSeconds)] });
  let server: TestServer | null = null;
  try {
    server = await startServer({ engine: llama.url, sleepIdleSeconds: 0, completion: { debounceMs: 0, ...limits } });
    await server.waitForState('ready', 60_000);
    const lspMs: number[] = [];
    const directMs: number[] = [];
    let same = 0;
    for (let i = 0; i < warmup + iterations; i++) {
      const position = cursorAt(i);
      const uri = `file:///bench/remote-${i}.ts`;
      server.open(uri, sampleDocument);
      const params = infillParamsFor(sampleDocument, position, limits);
      const s = server;
      const viaLsp = (): ReturnType<typeof complete> => complete(s, uri, position);
      // A B, then B A: the second of a pair finds the prompt in llama-server's cache, so each
      // side goes second half the time.
      let a: Awaited<ReturnType<typeof complete>>;
      let b: Awaited<ReturnType<typeof direct>>;
      if (i % 2 === 0) {
        a = await viaLsp();
        b = await direct(llama.url, params);
      } else {
        b = await direct(llama.url, params);
        a = await viaLsp();
      }
      close(server, uri);
      if (i < warmup) continue;
      lspMs.push(a.ms);
      directMs.push(b.ms);
      if (a.text === b.text) same++;
    }
    const lsp = summarize(lspMs);
    const dir = summarize(directMs);
    const diffP50 = lsp.p50 - dir.p50;

    // The first completion after llama-server slept: through us, then directly, alternating.
    const wakeLsp: number[] = [];
    const wakeDirect: number[] = [];
    for (let i = 0; i < wakes * 2; i++) {
      await untilAsleep(llama.url);
      const position = cursorAt(1000 + i);
      if (i % 2 === 0) {
        const uri = `file:///bench/remote-wake-${i}.ts`;
        server.open(uri, sampleDocument);
        wakeLsp.push((await complete(server, uri, position)).ms);
        close(server, uri);
      } else {
        wakeDirect.push((await direct(llama.url, infillParamsFor(sampleDocument, position, limits))).ms);
      }
    }
    const wl = summarize(wakeLsp);
    const wd = summarize(wakeDirect);

    printTable(
      `A model server as the engine: ${iterations} completions through llama-server (tiny ASCII model, 1 thread, maxTokens ${limits.maxTokens})`,
      ['', 'p50 ms', 'p95 ms', 'mean ms', 'max ms'],
      [
        ['our LSP server -> llama-server', lsp.p50, lsp.p95, lsp.mean, lsp.max],
        ['llama-server directly', dir.p50, dir.p95, dir.mean, dir.max],
        ['difference', diffP50, lsp.p95 - dir.p95, lsp.mean - dir.mean, null],
        [`first completion after its sleep, via us (${wakeLsp.length})`, wl.p50, wl.p95, wl.mean, wl.max],
        [`first completion after its sleep, direct (${wakeDirect.length})`, wd.p50, wd.p95, wd.mean, wd.max],
      ],
    );
    process.stdout.write(`Same shown text on both sides: ${same}/${iterations}; llama-server woke ${llama.wakes()} times.\n`);
    const file = writeResult('remote', header, {
      model: 'tiny random ASCII (2 layers x 64)',
      settings: { threads: 1, sleepIdleSeconds: sleepSeconds, ...limits },
      iterations,
      warmup,
      lspMs: roundSummary(lsp),
      directMs: roundSummary(dir),
      differenceMs: { p50: round(diffP50), p95: round(lsp.p95 - dir.p95), mean: round(lsp.mean - dir.mean) },
      sameText: same,
      afterSleep: {
        lspMs: roundSummary(wl),
        directMs: roundSummary(wd),
        samples: { lsp: wakeLsp.map((x) => round(x)), direct: wakeDirect.map((x) => round(x)) },
      },
      serverWakes: llama.wakes(),
      samples: { lspMs: lspMs.map((x) => round(x)), directMs: directMs.map((x) => round(x)) },
    });
    return {
      name: 'remote',
      file,
      verdicts: [
        {
          figure: 'Overhead through llama-server, p50',
          value: `${signed(diffP50)} ms (${lsp.p50.toFixed(1)} vs ${dir.p50.toFixed(1)})`,
          target: `<= +${targetP50Ms} ms`,
          met: diffP50 <= targetP50Ms,
        },
        {
          figure: 'First completion after llama-server slept, p50',
          value: `${wl.p50.toFixed(1)} ms via us vs ${wd.p50.toFixed(1)} ms direct`,
          target: '-',
          met: null,
        },
      ],
    };
  } finally {
    await server?.stop();
    await llama.stop();
  }
}
