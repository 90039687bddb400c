// 4. Typing storm: 20 keystrokes a second for 10 seconds, each followed by an inline completion
// request, the previous request cancelled as VS Code does ($/cancelRequest). Then typing along a
// shown completion, where the cache should answer without the model.
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import type { CompletionCounters } from '../server/src/shared/protocol';
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome, type Verdict } from './lib/context';
import { offsetAt, sampleDocument } from './lib/document';
import { EditorBuffer } from './lib/editorBuffer';
import { complete, startServer, type TestServer, type TimedCompletion } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { round, roundSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 4096;
const limits = { maxTokens: 32, maxLines: 4 };
const keystrokesPerSecond = 20;
const targetHitMs = 5;
// Typed at the end of the constructor's check, where the prefix stays under the token budget,
// so node-llama-cpp can reuse the evaluated prefix between requests, as with a real editor.
const anchor = '      throw new RangeError(`concurrency must be a positive integer, not ${concurrency}`);\n    }\n';
const typed =
  '    this.on("done", (task) => {\n      this.log(`task ${task.id} finished after ${task.attempts} attempts`);\n    });\n' +
  '    this.on("failed", (task) => this.log(`task ${task.id} failed: ${task.error?.message}`));\n    const started = Date.now();\n';

interface StormVariant {
  debounceMs: number;
}

interface StormResult {
  debounceMs: number;
  keystrokes: number;
  seconds: number;
  counters: CompletionCounters;
  /** Generations that reached the model queue: finished plus aborted there. */
  reachedModel: number;
  maxInFlight: number;
  inFlightSamples: number;
  lastRequestMs: number;
  lastShown: string | null;
  clientResults: { withItem: number; empty: number };
}

function diff(a: CompletionCounters, b: CompletionCounters): CompletionCounters {
  return {
    requests: b.requests - a.requests,
    generated: b.generated - a.generated,
    cacheHits: b.cacheHits - a.cacheHits,
    superseded: b.superseded - a.superseded,
  };
}

async function storm(server: TestServer, ctx: BenchContext, variant: StormVariant, index: number): Promise<StormResult> {
  const seconds = count(ctx, 10, 3);
  const keystrokes = seconds * keystrokesPerSecond;
  const at = sampleDocument.indexOf(anchor);
  if (at < 0) throw new Error('The typing storm anchor is not in the sample document.');
  const start = at + anchor.length;
  const buffer = new EditorBuffer(server, `file:///bench/storm-${index}.ts`, sampleDocument, start);
  // The model has seen this document once, as it would have by the time anyone types.
  await complete(server, buffer.uri, buffer.position);

  const before = (await server.status()).completions;
  let maxInFlight = 0;
  let inFlightSamples = 0;
  let sampling = true;
  const sampler = (async (): Promise<void> => {
    while (sampling) {
      const s = await server.status();
      maxInFlight = Math.max(maxInFlight, s.inFlight);
      inFlightSamples++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  let previous: CancellationTokenSource | null = null;
  const pending: Promise<TimedCompletion>[] = [];
  const t0 = performance.now();
  for (let k = 0; k < keystrokes; k++) {
    const due = t0 + (k * 1000) / keystrokesPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    buffer.type(typed[k % typed.length]);
    const source = new CancellationTokenSource();
    // The new request first, then the cancel of the old one: the server then counts the old
    // one as superseded rather than merely cancelled.
    pending.push(complete(server, buffer.uri, buffer.position, source.token));
    previous?.cancel();
    previous = source;
  }
  const results = await Promise.all(pending);
  sampling = false;
  await sampler;
  const after = (await server.status()).completions;
  const counters = diff(before, after);
  const last = results[results.length - 1];
  return {
    debounceMs: variant.debounceMs,
    keystrokes,
    seconds,
    counters,
    reachedModel: counters.generated + counters.superseded,
    maxInFlight,
    inFlightSamples,
    lastRequestMs: last.ms,
    lastShown: last.text,
    clientResults: { withItem: results.filter((r) => r.text !== null).length, empty: results.filter((r) => r.text === null).length },
  };
}

interface AlongResult {
  completions: number;
  keystrokes: number;
  hits: number;
  hitMs: number[];
  missMs: number[];
}

/** Gets a completion shown, then types it character by character (all but its last). */
async function typeAlong(server: TestServer, ctx: BenchContext): Promise<AlongResult> {
  const wanted = count(ctx, 60, 10);
  const result: AlongResult = { completions: 0, keystrokes: 0, hits: 0, hitMs: [], missMs: [] };
  const anchors = sampleDocument
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter((l) => l.line.trim().length > 8);
  for (let attempt = 0; attempt < 40 && result.keystrokes < wanted; attempt++) {
    const pick = anchors[(attempt * 5) % anchors.length];
    const offset = offsetAt(sampleDocument, { line: pick.i, character: pick.line.length });
    const buffer = new EditorBuffer(server, `file:///bench/along-${attempt}.ts`, sampleDocument, offset);
    const shown = await complete(server, buffer.uri, buffer.position);
    if (shown.text === null || shown.text.length < 3) continue;
    result.completions++;
    for (const ch of shown.text.slice(0, -1)) {
      const before = (await server.status()).completions.cacheHits;
      buffer.type(ch);
      const r = await complete(server, buffer.uri, buffer.position);
      const hit = (await server.status()).completions.cacheHits > before;
      result.keystrokes++;
      if (hit) {
        result.hits++;
        result.hitMs.push(r.ms);
      } else result.missMs.push(r.ms);
      await new Promise((res) => setTimeout(res, 1000 / keystrokesPerSecond));
    }
  }
  return result;
}

export async function runTypingStorm(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('typingStorm', loadAverage());
  const variants: StormVariant[] = [{ debounceMs: 150 }, { debounceMs: 0 }];
  const settings = (debounceMs: number): Record<string, unknown> =>
    serverSettings(ctx.model.path, { contextSize, completion: { debounceMs, ...limits } });
  const server = await startServer(settings(variants[0].debounceMs));
  const storms: StormResult[] = [];
  let along: AlongResult;
  try {
    await server.waitForState('ready', 180_000);
    for (const [i, variant] of variants.entries()) {
      server.configure(settings(variant.debounceMs));
      storms.push(await storm(server, ctx, variant, i));
    }
    server.configure(settings(150));
    along = await typeAlong(server, ctx);
  } finally {
    await server.stop();
  }

  printTable(
    `Typing storm: ${keystrokesPerSecond} keystrokes/s, previous request cancelled; ${ctx.model.kind}, ${threads} thread(s), maxTokens ${limits.maxTokens}`,
    ['debounce ms', 'keystrokes', 'requests', 'reached model', 'finished', 'aborted', 'max in flight', 'last request ms', 'items shown'],
    storms.map((s) => [
      s.debounceMs,
      s.keystrokes,
      s.counters.requests,
      s.reachedModel,
      s.counters.generated,
      s.counters.superseded,
      s.maxInFlight,
      s.lastRequestMs,
      s.clientResults.withItem,
    ]),
  );
  const hit = summarize(along.hitMs);
  const miss = summarize(along.missMs);
  const hitRate = along.keystrokes ? along.hits / along.keystrokes : Number.NaN;
  printTable(
    `Typing along ${along.completions} shown completions (${along.keystrokes} keystrokes)`,
    ['', 'count', 'p50 ms', 'p95 ms', 'max ms'],
    [
      ['cache hits', along.hits, hit.p50, hit.p95, hit.max],
      ['misses (generated)', along.missMs.length, miss.p50, miss.p95, miss.max],
    ],
  );
  process.stdout.write(
    `Cache hit rate typing along: ${(hitRate * 100).toFixed(1)}%. "Reached model" counts generations that got past the debounce into the gate ` +
      `(finished + aborted there); the server has no counter for generations started natively (see bench/README.md).\n`,
  );

  const file = writeResult('typingStorm', header, {
    model: { path: ctx.model.path, kind: ctx.model.kind },
    settings: { contextSize, threads, ...limits, keystrokesPerSecond },
    storms: storms.map((s) => ({
      ...s,
      lastRequestMs: round(s.lastRequestMs),
      lastShown: s.lastShown === null ? null : s.lastShown.length,
    })),
    typingAlong: {
      completions: along.completions,
      keystrokes: along.keystrokes,
      hits: along.hits,
      hitRate: round(hitRate, 4),
      hitMs: roundSummary(hit),
      missMs: roundSummary(miss),
    },
    targets: { maxInFlight: 1, cacheHitMs: targetHitMs },
  });
  const verdicts: Verdict[] = storms.map((s) => ({
    figure: `Typing storm, debounce ${s.debounceMs} ms: max in flight at the gate`,
    value: `${s.maxInFlight} (${s.reachedModel} of ${s.keystrokes} reached the model, ${s.counters.generated} finished, ${s.counters.superseded} aborted; last request ${(s.lastRequestMs / 1000).toFixed(2)} s)`,
    target: '<= 1',
    met: s.maxInFlight <= 1,
  }));
  verdicts.push(
    {
      figure: 'Cache hit rate typing along a shown completion',
      value: `${(hitRate * 100).toFixed(1)}% (${along.hits}/${along.keystrokes})`,
      target: '-',
      met: null,
    },
    {
      figure: 'Cache hit latency, p50 / p95',
      value: `${hit.p50.toFixed(2)} / ${hit.p95.toFixed(2)} ms`,
      target: `<= ${targetHitMs} ms`,
      met: hit.p95 <= targetHitMs,
    },
  );
  return { name: 'typingStorm', file, verdicts };
}
