// Context ring (issue 12): three figures side by side on one server, tiny model:
// a. Per-keystroke cost typing along a line (a completion after each key, debounce 0) with a
//    full ring, already prefilled after a pause, against an empty ring; blocks of keys, the arms
//    interleaved A B / B A.
// b. The delay a ring update adds to a keystroke that arrives while the ring's prefill runs: the
//    chunks are sent after a key, the prefill starts once the user has paused about a second, and
//    a key is sent at an offset into it; against the same key with no ring update (no prefill).
// c. Tab on a shown suggestion: the request after accepting it is answered from the cache that
//    the next-suggestion prefetch filled (no new generation), against a normal cache hit (typing
//    along a shown suggestion) and a fresh generation.
import { defaultQuietMs } from '../server/src/completion/background';
import { ContextChunksNotification, type CompletionCounters, type ContextChunk, type TokenFigures } from '../server/src/shared/protocol';
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome, type Verdict } from './lib/context';
import { offsetAt, sampleDocument } from './lib/document';
import { complete, startServer, type TestServer, type TimedCompletion } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { round, roundSummary, summarize, type Summary } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 4096;
const tokenBudget = 1024;
// Up to 4 lines: nearly every suggestion then stops at maxTokens, so both arms of part a generate
// as many tokens. Part b allows one line: a multi-line suggestion's next suggestion is computed in
// the pause, and it would change the KV cache before the baseline's key as a ring prefill does.
const limits = { maxTokens: 16, maxLines: 4 };
const oneLine = { maxTokens: 16, maxLines: 1 };
const targetRatio = 1.1;
const targetTabMs = 5;
/** Between a result and the next key: about 10 keys a second at most, as a fast typist. */
const keyGapMs = 100;
/** The text typed along a fresh line in each block of part a. */
const typedLine = 'const retries = options.retries ?? defaults.retries;';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// --- Chunks: other files' code, distinct lines so the ring keeps them all -------------------------

/** One short function, about 200 tokens of the tiny model's (nearly byte-level) vocabulary. */
function chunkText(i: number): string {
  return [
    `export function parse${i}Field(raw: string, offset = ${i % 7}): number | undefined {`,
    `  const value = Number.parseInt(raw.slice(offset, offset + ${i + 2}), 10);`,
    `  return Number.isNaN(value) || value > ${i * 10} ? undefined : value;`,
    '}',
  ].join('\n');
}

function chunk(i: number): ContextChunk {
  const path = `src/feature${i}/fields.ts`;
  return { path, uri: `file:///bench/${path}`, startLine: 0, text: chunkText(i), kind: 'file' };
}

/** More than the ring's token budget holds: the prompt gets the newest that fit. */
const fullRing = Array.from({ length: 8 }, (_, i) => chunk(i));

function sendChunks(server: TestServer, chunks: ContextChunk[]): Promise<void> {
  return server.connection.sendNotification(ContextChunksNotification.type, { chunks });
}

// --- An editor buffer typed into at its cursor --------------------------------------------------

class Editor {
  private version = 1;
  private text: string;
  constructor(
    private readonly server: TestServer,
    readonly uri: string,
    text: string,
    private offset: number,
  ) {
    this.text = text;
    server.open(uri, text);
  }
  insert(chars: string): void {
    this.text = this.text.slice(0, this.offset) + chars + this.text.slice(this.offset);
    this.offset += chars.length;
    this.server.change(this.uri, ++this.version, this.text);
  }
  complete(): Promise<TimedCompletion> {
    const before = this.text.slice(0, this.offset);
    const line = before.split('\n').length - 1;
    return complete(this.server, this.uri, { line, character: this.offset - before.lastIndexOf('\n') - 1 });
  }
}

/** A key that does not continue `shown`, so the cache cannot answer and the model runs. */
function keyAvoiding(wanted: string, shown: string | null): string {
  if (shown === null || shown[0] !== wanted) return wanted;
  return [...'qzjxkvw'].find((c) => c !== shown[0]) ?? 'q';
}

const prefillLines = (server: TestServer, from: number): string[] =>
  server.logs
    .slice(from)
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('Context ring prefill:'));

/** Waits for a prefill logged after line `from` (one that ran to its end, or any when `finished` is false); its log line, or null after `timeoutMs`. */
async function prefillEnded(server: TestServer, from: number, timeoutMs: number, finished = true): Promise<string | null> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const line = prefillLines(server, from).find((l) => !finished || !l.includes('stopped'));
    if (line) return line;
    await wait(10);
  }
  return null;
}

const evaluatedIn = (line: string): number => Number(/(\d+) tokens evaluated/.exec(line)?.[1] ?? Number.NaN);

// --- a. Per-keystroke cost, full ring against empty ring ------------------------------------------

type Arm = 'empty' | 'full';

interface KeySample {
  arm: Arm;
  /** The first key after the pause (the prefill's, or the prefetch's, work lies just before it). */
  first: boolean;
  ms: number;
  figures: TokenFigures | null;
  contextChunks: number;
}

/** Empties the ring: off (which clears it at the next notification), then on again with nothing in it. */
async function clearRing(server: TestServer, settings: (enabled: boolean) => Record<string, unknown>): Promise<void> {
  server.configure(settings(false));
  await sendChunks(server, []);
  server.configure(settings(true));
}

interface KeystrokeResult {
  blocks: number;
  keysPerBlock: number;
  samples: KeySample[];
  prefills: { evaluated: number; waitedMs: number }[];
  cacheAnswered: number;
}

async function keystrokeCost(
  server: TestServer,
  settings: (enabled: boolean) => Record<string, unknown>,
  size: { blocks: number; keysPerBlock: number },
): Promise<KeystrokeResult> {
  const { blocks, keysPerBlock } = size;
  const anchor = '      throw new RangeError(`concurrency must be a positive integer, not ${concurrency}`);\n    }';
  const at = sampleDocument.indexOf(anchor);
  if (at < 0) throw new Error('The keystroke anchor is not in the sample document.');
  const editor = new Editor(server, 'file:///bench/ring-typing.ts', sampleDocument, at + anchor.length);
  const samples: KeySample[] = [];
  const prefills: { evaluated: number; waitedMs: number }[] = [];
  let cacheAnswered = 0;
  for (let block = 0; block < blocks; block++) {
    for (const arm of (block % 2 === 0 ? ['empty', 'full'] : ['full', 'empty']) as Arm[]) {
      await clearRing(server, settings);
      // A new line, not measured: it evaluates the file's prompt after the other arm's.
      editor.insert('\n    ');
      let shown = (await editor.complete()).text;
      const pausedAt = performance.now();
      if (arm === 'full') {
        // The chunks come while the user pauses; the prefill evaluates them and the file's prompt.
        const from = server.logs.length;
        await sendChunks(server, fullRing);
        const line = await prefillEnded(server, from, 120_000);
        if (line === null)
          throw new Error(
            `The ring prefill did not run within 120 s. The server's log since the chunks:\n${server.logs.slice(from - 5).join('\n')}`,
          );
        prefills.push({ evaluated: evaluatedIn(line), waitedMs: performance.now() - pausedAt });
      }
      // The same pause in both arms: past the quiet time, and past the prefill of the full arm.
      await wait(pausedAt + defaultQuietMs + 500 - performance.now());
      for (let k = 0; k < keysPerBlock; k++) {
        const before = (await server.status()).completions;
        editor.insert(keyAvoiding(typedLine[k % typedLine.length], shown));
        const r = await editor.complete();
        const status = await server.status();
        shown = r.text;
        if (status.completions.generated === before.generated) {
          cacheAnswered++;
        } else {
          samples.push({ arm, first: k === 0, ms: r.ms, figures: status.lastCompletion, contextChunks: status.contextChunks });
        }
        await wait(keyGapMs);
      }
    }
  }
  return { blocks, keysPerBlock, samples, prefills, cacheAnswered };
}

// --- b. A keystroke during the ring's prefill -------------------------------------------------------

type Timing = 'during' | 'before' | 'after';

interface UpdateTrial {
  /** When the key was sent: this long after the quiet time that followed the key before it. */
  offsetMs: number;
  update: boolean;
  ms: number;
  /** The key's time in the model host's infill; the rest of ms is the wait for the host's queue (the prefill's safe point) and the transport. */
  hostMs: number | null;
  evaluatedTokens: number | null;
  /** Where the key fell against the prefill: during it, before it started, or after it ended. */
  timing: Timing | null;
  /** Tokens the prefill evaluated before it stopped for the key (or in all, when it ended first). */
  prefillEvaluated: number | null;
}

/** Where each key of part b is sent: this long after the quiet time that follows the key before it began. */
const offsetsMs = [-150, 0, 50, 150, 300, 500];

async function keyDuringPrefill(server: TestServer, ctx: BenchContext, settings: (enabled: boolean) => Record<string, unknown>) {
  const editor = new Editor(server, 'file:///bench/ring-prefill.ts', sampleDocument, offsetAt(sampleDocument, { line: 60, character: 0 }));
  let nextChunk = 100;
  let shown: string | null = null;
  let typed = 0;
  const key = async (): Promise<TimedCompletion> => {
    editor.insert(keyAvoiding(typedLine[typed++ % typedLine.length], shown));
    const r = await editor.complete();
    shown = r.text;
    return r;
  };
  // The ring full and prefilled before the first trial: the prefill evaluates it and the file's prompt.
  await clearRing(server, settings);
  await key();
  const from = server.logs.length;
  await sendChunks(server, fullRing);
  const filled = await prefillEnded(server, from, 30_000);
  if (filled === null) throw new Error('The ring prefill did not run within 30 s.');
  await wait(200);

  const offsets = ctx.quick ? [offsetsMs[0], offsetsMs[3]] : offsetsMs;
  const rounds = count(ctx, 2, 1);
  const trials: UpdateTrial[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [step, offsetMs] of offsets.entries()) {
      const arms = (round + step) % 2 === 0 ? [true, false] : [false, true];
      for (const update of arms) {
        await key();
        const keyAt = performance.now();
        const mark = server.logs.length;
        // A new chunk: the ring is full, so its oldest chunk goes and the whole prompt changes.
        if (update) await sendChunks(server, [chunk(nextChunk++)]);
        await wait(keyAt + defaultQuietMs + offsetMs - performance.now());
        const keyMark = server.logs.length;
        const r = await key();
        const status = await server.status();
        let timing: Timing | null = null;
        let prefillEvaluated: number | null = null;
        if (update) {
          // The first prefill after the update: stopped (the key came during it), ended before
          // the key, or ran only after the key (which then evaluated the update itself).
          const line = await prefillEnded(server, mark, 30_000, false);
          if (line !== null) {
            const at = mark + server.logs.slice(mark).findIndex((l) => l.includes(line));
            prefillEvaluated = evaluatedIn(line);
            timing = line.includes('stopped') ? 'during' : at < keyMark ? 'after' : 'before';
          }
          // What the key left of the prefill runs at the next pause; let it end.
          await prefillEnded(server, server.logs.length, defaultQuietMs + 30_000);
        }
        await wait(200);
        trials.push({
          offsetMs,
          update,
          ms: r.ms,
          hostMs: status.lastCompletion?.ms ?? null,
          evaluatedTokens: status.lastCompletion?.evaluatedTokens ?? null,
          timing,
          prefillEvaluated,
        });
      }
    }
  }
  return { ringPrefillTokens: evaluatedIn(filled), trials };
}

// --- c. Tab on a shown suggestion ------------------------------------------------------------------

interface TabTrial {
  freshMs: number;
  /** The shown suggestion came from the model (a key the cache could not answer). */
  freshGenerated: boolean;
  /** The suggestion after Tab has several lines: its own follow-up waits for a pause instead of starting at once. */
  nextMultiLine: boolean | null;
  /** null: no next suggestion was prefetched (the model's was empty after post-processing). */
  tabMs: number | null;
  tabFromCache: boolean | null;
  hitMs: number | null;
}

async function statusUntil(
  server: TestServer,
  ok: (c: CompletionCounters) => boolean,
  timeoutMs: number,
): Promise<CompletionCounters | null> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const c = (await server.status()).completions;
    if (ok(c)) return c;
    await wait(10);
  }
  return null;
}

async function tabAfterSuggestion(server: TestServer, ctx: BenchContext) {
  const wanted = count(ctx, 20, 4);
  const trials: TabTrial[] = [];
  const places = sampleDocument
    .split('\n')
    .map((line, i) => ({ line, i }))
    .filter((l) => l.line.trim().length > 8);
  for (let attempt = 0; attempt < wanted * 3 && trials.filter((t) => t.tabMs !== null).length < wanted; attempt++) {
    const pick = places[(attempt * 7) % places.length];
    const editor = new Editor(
      server,
      `file:///bench/ring-tab-${attempt}.ts`,
      sampleDocument,
      offsetAt(sampleDocument, { line: pick.i, character: pick.line.length }),
    );
    const first = await editor.complete();
    editor.insert(keyAvoiding(' ', first.text));
    const before = (await server.status()).completions;
    const fresh = await editor.complete();
    if (fresh.text === null || fresh.text.length < 2) continue;
    const freshGenerated = (await server.status()).completions.generated === before.generated + 1;
    const trial: TabTrial = { freshMs: fresh.ms, freshGenerated, nextMultiLine: null, tabMs: null, tabFromCache: null, hitMs: null };
    trials.push(trial);
    // A one-line suggestion's follow-up is computed at once; a multi-line one's after the pause.
    const ready = await statusUntil(server, (c) => (c.prefetched ?? 0) > (before.prefetched ?? 0), defaultQuietMs + 3000);
    if (ready === null) continue;
    editor.insert(fresh.text);
    const tab = await editor.complete();
    const after = (await server.status()).completions;
    trial.tabMs = tab.ms;
    trial.nextMultiLine = tab.text?.includes('\n') ?? null;
    trial.tabFromCache = after.generated === ready.generated && after.cacheHits === ready.cacheHits + 1;
    if (tab.text === null || tab.text.length < 2) continue;
    // Typing the next suggestion's first character: the ordinary cache hit.
    editor.insert(tab.text[0]);
    const hit = await editor.complete();
    const afterHit = (await server.status()).completions;
    if (afterHit.generated === after.generated && afterHit.cacheHits === after.cacheHits + 1) trial.hitMs = hit.ms;
  }
  return { trials };
}

/** Part a's table, its JSON and its verdict. */
function reportKeystrokes(a: KeystrokeResult, model: string): { json: object; verdict: Verdict } {
  // a. Every key, and the keys after the first of each block (the first follows the pause, where
  // the ring's prefill, or in the empty arm a multi-line suggestion's prefetch, changed the KV cache).
  const arm = (x: Arm, which: 'all' | 'first' | 'rest' = 'all'): KeySample[] =>
    a.samples.filter((s) => s.arm === x && (which === 'all' || s.first === (which === 'first')));
  const ms = (xs: KeySample[]): Summary => summarize(xs.map((s) => s.ms));
  const empty = ms(arm('empty'));
  const full = ms(arm('full'));
  const ratioP50 = full.p50 / empty.p50;
  const ratioP95 = full.p95 / empty.p95;
  const steadyRatio = ms(arm('full', 'rest')).p50 / ms(arm('empty', 'rest')).p50;
  // Mean client round trip minus the host's infill time: mostly the wait for the background work
  // running when the key came (the previous key's next suggestion) to reach a safe point.
  const outsideHost = (xs: KeySample[]): number =>
    mean(xs.map((k) => k.ms - (k.figures?.ms ?? Number.NaN)).filter((x) => !Number.isNaN(x)));
  const chunksSeen = (x: Arm): number[] => [...new Set(arm(x).map((s) => s.contextChunks))];
  const row = (label: string, xs: KeySample[]): (string | number)[] => {
    const t = ms(xs);
    return [
      label,
      t.n,
      t.p50,
      t.p95,
      t.mean,
      fig(xs, 'promptTokens'),
      fig(xs, 'evaluatedTokens'),
      fig(xs, 'reusedTokens'),
      fig(xs, 'generatedTokens'),
      fig(xs, 'ms'),
      outsideHost(xs),
      fig(xs, 'tokensPerSecond'),
    ];
  };
  printTable(
    `a. Per keystroke, typing along a line: ${a.blocks} blocks x ${a.keysPerBlock} keys per arm, ${model}, ${threads} thread(s), debounce 0, maxTokens ${limits.maxTokens}, maxLines ${limits.maxLines}, ring budget ${tokenBudget} tokens`,
    [
      'ring',
      'keys',
      'p50 ms',
      'p95 ms',
      'mean ms',
      'prompt tok',
      'evaluated',
      'reused',
      'generated',
      'host ms',
      'outside host ms',
      'gen tok/s',
    ],
    [
      row('empty', arm('empty')),
      row(`full (${chunksSeen('full').join('/')} chunks)`, arm('full')),
      row('empty, first key after the pause', arm('empty', 'first')),
      row('full, first key after the pause', arm('full', 'first')),
      row('empty, later keys', arm('empty', 'rest')),
      row('full, later keys', arm('full', 'rest')),
    ],
  );
  process.stdout.write(
    `Full / empty: ${ratioP50.toFixed(2)}x at p50, ${ratioP95.toFixed(2)}x at p95 (later keys ${steadyRatio.toFixed(2)}x at p50). ` +
      `Prefill in each pause: ${a.prefills.map((p) => p.evaluated).join(', ')} tokens. Keys answered from the cache (left out): ${a.cacheAnswered}.\n`,
  );

  const figures = (xs: KeySample[]): Record<string, number> =>
    Object.fromEntries(
      (['promptTokens', 'evaluatedTokens', 'reusedTokens', 'generatedTokens', 'ms', 'tokensPerSecond'] as const).map((k) => [
        k,
        round(fig(xs, k)),
      ]),
    );
  const fullFig = (k: keyof TokenFigures): string => fig(arm('full'), k).toFixed(k === 'evaluatedTokens' ? 1 : 0);
  const emptyFig = (k: keyof TokenFigures): string => fig(arm('empty'), k).toFixed(k === 'evaluatedTokens' ? 1 : 0);
  const verdict: Verdict = {
    figure: `Per keystroke, full ring / empty ring, p50 (p95), ${model}`,
    value:
      `${ratioP50.toFixed(2)}x (${ratioP95.toFixed(2)}x): ${full.p50.toFixed(1)} vs ${empty.p50.toFixed(1)} ms (${full.p95.toFixed(1)} vs ${empty.p95.toFixed(1)}); ` +
      `evaluated ${fullFig('evaluatedTokens')} vs ${emptyFig('evaluatedTokens')} tokens, reused ${fullFig('reusedTokens')} vs ${emptyFig('reusedTokens')}`,
    target: `<= ${targetRatio}x`,
    met: ratioP50 <= targetRatio,
  };
  const json = {
    blocks: a.blocks,
    keysPerBlock: a.keysPerBlock,
    emptyMs: roundSummary(empty),
    fullMs: roundSummary(full),
    ratio: { p50: round(ratioP50, 3), p95: round(ratioP95, 3), laterKeysP50: round(steadyRatio, 3) },
    firstKeyMs: { empty: roundSummary(ms(arm('empty', 'first'))), full: roundSummary(ms(arm('full', 'first'))) },
    laterKeysMs: { empty: roundSummary(ms(arm('empty', 'rest'))), full: roundSummary(ms(arm('full', 'rest'))) },
    meanFigures: {
      empty: figures(arm('empty')),
      full: figures(arm('full')),
      emptyFirst: figures(arm('empty', 'first')),
      fullFirst: figures(arm('full', 'first')),
    },
    meanOutsideHostMs: Object.fromEntries(
      (['all', 'first', 'rest'] as const).flatMap((w) =>
        (['empty', 'full'] as Arm[]).map((x) => [`${x}-${w}`, round(outsideHost(arm(x, w)))]),
      ),
    ),
    contextChunks: { empty: chunksSeen('empty'), full: chunksSeen('full') },
    prefills: a.prefills.map((p) => ({ evaluated: p.evaluated, waitedMs: round(p.waitedMs) })),
    cacheAnswered: a.cacheAnswered,
    samples: a.samples.map((s) => ({
      arm: s.arm,
      first: s.first,
      ms: round(s.ms),
      hostMs: s.figures === null ? null : round(s.figures.ms),
      evaluated: s.figures?.evaluatedTokens ?? null,
      reused: s.figures?.reusedTokens ?? null,
      generated: s.figures?.generatedTokens ?? null,
    })),
  };
  return { json, verdict };
}

// --- The run --------------------------------------------------------------------------------------

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
const fig = (s: KeySample[], k: keyof TokenFigures): number =>
  mean(s.map((x) => Number(x.figures?.[k] ?? Number.NaN)).filter((x) => !Number.isNaN(x)));

/**
 * BENCH_RING_MODEL=large runs part a alone with the large model (8 layers x 1024, whose weights,
 * not its KV cache, dominate a generated token's cost) and writes contextRing-large.json.
 */
async function runLargeKeystrokes(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('contextRing-large', loadAverage());
  const settings = (enabled: boolean): Record<string, unknown> =>
    // No time cap: a key that evaluates the whole prompt on one thread takes seconds.
    serverSettings(ctx.largeModel, {
      contextSize,
      completion: { debounceMs: 0, ...limits, maxMs: 60_000 },
      context: { enabled, tokenBudget },
    });
  const server = await startServer(settings(true));
  let a: KeystrokeResult;
  try {
    await server.waitForState('ready', 180_000);
    a = await keystrokeCost(server, settings, { blocks: count(ctx, 2, 1), keysPerBlock: count(ctx, 6, 2) });
  } finally {
    await server.stop();
  }
  const keys = reportKeystrokes(a, 'large model');
  const file = writeResult('contextRing-large', header, {
    model: { path: ctx.largeModel, kind: 'large random (8 layers x 1024, F16, 258 MiB)' },
    settings: { contextSize, threads, debounceMs: 0, ...limits, maxMs: 60_000, tokenBudget, quietMs: defaultQuietMs, keyGapMs },
    keystroke: keys.json,
    targets: { keystrokeRatio: targetRatio },
  });
  return { name: 'contextRing', file, verdicts: [keys.verdict] };
}

export async function runContextRing(ctx: BenchContext): Promise<BenchOutcome> {
  if (process.env['BENCH_RING_MODEL'] === 'large') return runLargeKeystrokes(ctx);
  const header = resultHeader('contextRing', loadAverage());
  const settings = (enabled: boolean, completion = limits): Record<string, unknown> =>
    serverSettings(ctx.tinyModel, { contextSize, completion: { debounceMs: 0, ...completion }, context: { enabled, tokenBudget } });
  const server = await startServer(settings(true));
  let a: KeystrokeResult;
  let b: Awaited<ReturnType<typeof keyDuringPrefill>>;
  let c: Awaited<ReturnType<typeof tabAfterSuggestion>>;
  const loads: Record<string, number[]> = {};
  try {
    await server.waitForState('ready', 120_000);
    loads['a'] = loadAverage();
    a = await keystrokeCost(server, settings, { blocks: count(ctx, 5, 2), keysPerBlock: count(ctx, 10, 4) });
    loads['b'] = loadAverage();
    b = await keyDuringPrefill(server, ctx, (enabled) => settings(enabled, oneLine));
    loads['c'] = loadAverage();
    server.configure(settings(true));
    c = await tabAfterSuggestion(server, ctx);
  } finally {
    await server.stop();
  }
  const keys = reportKeystrokes(a, 'tiny model');

  // b. The added delay against the baseline's median; and the part of it spent outside the
  // host's infill (client round trip minus the infill's own time), where a key waits for the
  // prefill to reach its safe point: the rest is the key evaluating what the prefill had not.
  const baseline = b.trials.filter((t) => !t.update);
  const baseMs = summarize(baseline.map((t) => t.ms));
  const outside = (t: UpdateTrial): number => t.ms - (t.hostMs ?? Number.NaN);
  const baseOutside = summarize(baseline.map(outside));
  const baseEvaluated = mean(baseline.map((t) => t.evaluatedTokens ?? Number.NaN));
  const byTiming = (x: Timing): UpdateTrial[] => b.trials.filter((t) => t.timing === x);
  const during = byTiming('during');
  const added = during.map((t) => t.ms - baseMs.p50);
  const addedSummary = summarize(added);
  const waited = summarize(during.map((t) => outside(t) - baseOutside.p50));
  const worst = during.reduce<UpdateTrial | null>((w, t) => (w === null || t.ms > w.ms ? t : w), null);
  printTable(
    `b. A key during the prefill of a ring update (the ring full: a new chunk pushes out the oldest, so ~${b.ringPrefillTokens} tokens change); key sent ${offsetsMs.join(', ')} ms after the quiet time`,
    ['key', 'count', 'p50 ms', 'max ms', 'outside host p50', 'outside host max', 'evaluated tok (mean)', 'prefill evaluated first (mean)'],
    [
      ['no update (baseline)', baseline.length, baseMs.p50, baseMs.max, baseOutside.p50, baseOutside.max, baseEvaluated, null],
      ...(['during', 'before', 'after'] as Timing[]).map((x) => {
        const ts = byTiming(x);
        const t = summarize(ts.map((k) => k.ms));
        const o = summarize(ts.map(outside));
        return [
          `update, key ${x} the prefill`,
          ts.length,
          t.p50,
          t.max,
          o.p50,
          o.max,
          mean(ts.map((k) => k.evaluatedTokens ?? Number.NaN)),
          mean(ts.map((k) => k.prefillEvaluated ?? Number.NaN)),
        ];
      }),
    ],
  );
  const maxAdded = added.length ? Math.max(...added) : Number.NaN;
  process.stdout.write(
    `Largest delay added to a key during the prefill: ${maxAdded.toFixed(1)} ms over the baseline's p50` +
      (worst
        ? ` (the key evaluated ${worst.evaluatedTokens} tokens itself; the prefill had evaluated ${worst.prefillEvaluated} when it stopped)`
        : '') +
      `. Of the added delay, outside the host's infill (the wait for the prefill's safe point): p50 ${waited.p50.toFixed(1)}, max ${waited.max.toFixed(1)} ms.\n`,
  );

  // c.
  const served = c.trials.filter((t) => t.tabMs !== null);
  const tab = summarize(served.map((t) => t.tabMs!));
  const hit = summarize(c.trials.flatMap((t) => (t.hitMs === null ? [] : [t.hitMs])));
  const fresh = summarize(c.trials.flatMap((t) => (t.freshGenerated ? [t.freshMs] : [])));
  const tabBy = (multi: boolean): Summary => summarize(served.flatMap((t) => (t.nextMultiLine === multi ? [t.tabMs!] : [])));
  const fromCache = served.filter((t) => t.tabFromCache).length;
  printTable(
    `c. Tab on a shown suggestion (${c.trials.length} shown, ${served.length} with a next suggestion prefetched)`,
    ['request', 'count', 'p50 ms', 'p95 ms', 'max ms'],
    [
      ['after Tab (prefetched)', tab.n, tab.p50, tab.p95, tab.max],
      [
        '... its next suggestion one line (follow-up after a 250 ms pause)',
        tabBy(false).n,
        tabBy(false).p50,
        tabBy(false).p95,
        tabBy(false).max,
      ],
      ['... its next suggestion several lines (follow-up at the pause)', tabBy(true).n, tabBy(true).p50, tabBy(true).p95, tabBy(true).max],
      ['normal cache hit (typing along)', hit.n, hit.p50, hit.p95, hit.max],
      ['fresh generation', fresh.n, fresh.p50, fresh.p95, fresh.max],
    ],
  );
  process.stdout.write(`After Tab served from the cache with no new generation: ${fromCache}/${served.length}.\n`);

  const file = writeResult('contextRing', header, {
    model: { path: ctx.tinyModel, kind: 'tiny random (2 layers x 64)' },
    settings: { contextSize, threads, debounceMs: 0, ...limits, partB: oneLine, tokenBudget, quietMs: defaultQuietMs, keyGapMs },
    loadAverageAtParts: loads,
    keystroke: keys.json,
    keyDuringPrefill: {
      ringPrefillTokens: b.ringPrefillTokens,
      offsetsMs,
      baselineMs: roundSummary(baseMs),
      duringMs: roundSummary(summarize(during.map((t) => t.ms))),
      beforeMs: roundSummary(summarize(byTiming('before').map((t) => t.ms))),
      addedMs: roundSummary(addedSummary),
      baselineOutsideHostMs: roundSummary(baseOutside),
      addedOutsideHostMs: roundSummary(waited),
      counts: {
        during: during.length,
        before: byTiming('before').length,
        after: byTiming('after').length,
        unknown: b.trials.filter((t) => t.update && t.timing === null).length,
      },
      trials: b.trials.map((t) => ({ ...t, ms: round(t.ms), hostMs: t.hostMs === null ? null : round(t.hostMs) })),
    },
    tab: {
      shown: c.trials.length,
      prefetched: served.length,
      servedFromCache: fromCache,
      tabMs: roundSummary(tab),
      tabMsNextOneLine: roundSummary(tabBy(false)),
      tabMsNextMultiLine: roundSummary(tabBy(true)),
      cacheHitMs: roundSummary(hit),
      freshMs: roundSummary(fresh),
      trials: c.trials.map((t) => ({
        freshMs: round(t.freshMs),
        freshGenerated: t.freshGenerated,
        nextMultiLine: t.nextMultiLine,
        tabMs: t.tabMs === null ? null : round(t.tabMs),
        tabFromCache: t.tabFromCache,
        hitMs: t.hitMs === null ? null : round(t.hitMs),
      })),
    },
    targets: { keystrokeRatio: targetRatio, tabMs: targetTabMs },
  });

  const verdicts: Verdict[] = [
    keys.verdict,
    {
      figure: 'Largest delay a ring update adds to a key during its prefill',
      value: `${maxAdded.toFixed(1)} ms (p50 ${addedSummary.p50.toFixed(1)} ms over ${during.length} keys, baseline p50 ${baseMs.p50.toFixed(1)} ms); waiting for the safe point p50 ${waited.p50.toFixed(1)}, max ${waited.max.toFixed(1)} ms`,
      target: '-',
      met: null,
    },
    {
      figure: 'Tab after a shown suggestion, p50 (p95)',
      value: `${tab.p50.toFixed(2)} (${tab.p95.toFixed(2)}) ms, ${fromCache}/${served.length} from the cache; normal cache hit ${hit.p50.toFixed(2)} (${hit.p95.toFixed(2)}), fresh generation ${fresh.p50.toFixed(1)} (${fresh.p95.toFixed(1)}) ms`,
      target: `p50 < ${targetTabMs} ms, all from the cache`,
      met: served.length > 0 && fromCache === served.length && tab.p50 < targetTabMs,
    },
  ];
  return { name: 'contextRing', file, verdicts };
}
