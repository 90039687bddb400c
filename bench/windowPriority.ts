// Two windows on one shared model host (issue 13, "fair and isolated"), large model, one thread:
// a. completion latency in window A (the one typed in: activity, then a request) while window B
//    keeps asking for long completions back to back, with the host's window priority on and off
//    (the test hook hostPriority false: first come, first served), against A alone; two pairs of
//    windows with a host each, blocks alternated on / off, off / on;
// b. what one completion sequence for all windows costs at a switch: a completion in A typed
//    along a line (its prompt in the KV cache), against A's first completion after one in B
//    (B's prompt replaced A's), on the 1,100-token prompts of the sample document; with each
//    window's completion state kept across the switch (the host saves B's and restores A's) and
//    without (the test hook hostWindowStates false: A's prompt evaluated again), a host each,
//    repetitions alternated; and the host's save and restore times from its log.
// `node --import tsx bench/run.ts windowPriority`; BENCH_QUICK=1 for a few repetitions;
// BENCH_SWITCH_ONLY=1 for part b alone.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ActivityNotification, type CompletionCounters, type TokenFigures } from '../server/src/shared/protocol';
import { testHooksEnv } from '../server/src/shared/testHooks';
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { cursorAt, sampleDocument } from './lib/document';
import { close, complete, startServer, type TestServer } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { summarize, type Summary } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 2048;
/** A's completions: a short answer, as ghost text typed along a line mostly is. */
const typedLimits = { debounceMs: 0, maxTokens: 16, maxLines: 1, maxMs: 0 };
/** B's: long multi-line answers; the random-weight model writes every token it may. */
const longLimits = { debounceMs: 0, maxTokens: 128, maxLines: 200, maxMs: 0 };
/** A's document: ~100 prompt tokens (one per character with this model), different from its start on each request, so no request reuses another's KV. */
const typedDocument = (i: number): string =>
  `// request ${i}\nfunction scale(values: number[], factor: number) {\n  return values.map((v) => `;
const longDocument = 'const table = [\n';
/** Pauses between A's requests: they land at different points of B's generation. */
const gapsMs = [700, 1500, 1100, 1900];

interface Pair {
  a: TestServer;
  b: TestServer;
  dir: string;
}

async function startPair(ctx: BenchContext, priority: boolean, windowStates = true): Promise<Pair> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `llm-bench-priority-${priority ? 'on' : 'off'}-`));
  const env = {
    LOCAL_LLM_RUNTIME_DIR: dir,
    // The baselines are test hooks of the host (testHooks.ts); the grace is lspClient's own 1 s, given again since these hooks are the whole set.
    ...testHooksEnv({ hostGraceMs: 1000, hostPriority: priority, hostWindowStates: windowStates }),
  };
  const a = await startServer(serverSettings(ctx.largeModel, { contextSize, completion: typedLimits }), { env });
  const b = await startServer(serverSettings(ctx.largeModel, { contextSize, completion: longLimits }), { env });
  await Promise.all([a.waitForState('ready', 300_000), b.waitForState('ready', 300_000)]);
  return { a, b, dir };
}

async function stopPair(pair: Pair): Promise<void> {
  await Promise.all([pair.a.stop(), pair.b.stop()]);
  // Past the host's grace period (1 s in lspClient).
  await new Promise((r) => setTimeout(r, 2000));
  rmSync(pair.dir, { recursive: true, force: true });
}

let uriCount = 0;

/** One completion in A as a keystroke makes it: activity, then the request; a new document, so no cache answers it. */
async function typedCompletion(a: TestServer): Promise<{ ms: number; figures: TokenFigures | null }> {
  const i = uriCount++;
  const uri = `file:///bench/typed-${i}.ts`;
  const text = typedDocument(i);
  const lines = text.split('\n');
  a.open(uri, text);
  void a.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
  const { ms } = await complete(a, uri, { line: lines.length - 1, character: lines[lines.length - 1].length });
  close(a, uri);
  return { ms, figures: (await a.status()).lastCompletion };
}

/** B asks for a long completion, and once answered for the next one, until stopped. */
function keepAsking(b: TestServer): { stop: () => Promise<number> } {
  let running = true;
  let asked = 0;
  const loop = (async () => {
    while (running) {
      const uri = `file:///bench/long-${uriCount++}.ts`;
      b.open(uri, longDocument);
      asked++;
      await complete(b, uri, { line: 1, character: 0 });
      close(b, uri);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return asked;
    },
  };
}

interface Block {
  priority: boolean;
  alone: number[];
  during: number[];
  /** A's prompt tokens evaluated per request while B asks (all of it: B's prompt sat in the KV). */
  duringEvaluated: number[];
  bAsked: number;
  bCounters: { before: CompletionCounters; after: CompletionCounters };
}

async function block(pair: Pair, priority: boolean, n: number): Promise<Block> {
  const alone: number[] = [];
  for (let i = 0; i < n; i++) alone.push((await typedCompletion(pair.a)).ms);
  const before = { ...(await pair.b.status()).completions };
  const b = keepAsking(pair.b);
  const during: number[] = [];
  const duringEvaluated: number[] = [];
  // B's first long completion is under way.
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < n; i++) {
    const { ms, figures } = await typedCompletion(pair.a);
    during.push(ms);
    duringEvaluated.push(figures?.evaluatedTokens ?? 0);
    await new Promise((r) => setTimeout(r, gapsMs[i % gapsMs.length]));
  }
  const bAsked = await b.stop();
  const after = { ...(await pair.b.status()).completions };
  return { priority, alone, during, duringEvaluated, bAsked, bCounters: { before, after } };
}

interface SwitchSample {
  /** Whether the host kept A's completion state across B's completion. */
  kept: boolean;
  warmMs: number;
  warm: TokenFigures | null;
  afterSwitchMs: number;
  afterSwitch: TokenFigures | null;
}

/** A types along a line of the sample document; between two of its keys B asks once. */
async function switchCost(pair: Pair, kept: boolean, r: number): Promise<SwitchSample> {
  const { a, b } = pair;
  const uri = `file:///bench/switch-${r}.ts`;
  const position = cursorAt(r * 3 + 1);
  const lines = sampleDocument.split('\n');
  let version = 1;
  a.open(uri, sampleDocument);
  const key = async (ch: string, at: number): Promise<{ ms: number; figures: TokenFigures | null }> => {
    const line = lines[position.line];
    lines[position.line] = line.slice(0, position.character + at) + ch + line.slice(position.character + at);
    a.change(uri, ++version, lines.join('\n'));
    void a.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
    const { ms } = await complete(a, uri, { line: position.line, character: position.character + at + 1 });
    return { ms, figures: (await a.status()).lastCompletion };
  };
  await key('q', 0); // the prompt into the KV cache
  const warm = await key('w', 1);
  const other = `file:///bench/switch-b-${r}.ts`;
  b.open(other, longDocument);
  void b.connection.sendNotification(ActivityNotification.type, { kind: 'typing' });
  await complete(b, other, { line: 1, character: 0 });
  close(b, other);
  const back = await key('e', 2);
  close(a, uri);
  return { kept, warmMs: warm.ms, warm: warm.figures, afterSwitchMs: back.ms, afterSwitch: back.figures };
}

interface SwitchTimings {
  saveMs: number[];
  restoreMs: number[];
  /** Sizes of the states saved. */
  bytes: number[];
}

/** The host's save and restore times at window switches, from its log (sequenceStateStore.ts traces them). */
function switchTimings(dir: string): SwitchTimings {
  const timings: SwitchTimings = { saveMs: [], restoreMs: [], bytes: [] };
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const match = /Window switch: (saved|restored) the completion state of \S+ \((\d+) tokens, (\d+) bytes\) in ([\d.]+) ms/.exec(line);
      if (!match) continue;
      (match[1] === 'saved' ? timings.saveMs : timings.restoreMs).push(Number(match[4]));
      if (match[1] === 'saved') timings.bytes.push(Number(match[3]));
    }
  }
  return timings;
}

export async function runWindowPriority(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('windowPriority', loadAverage());
  const switchOnly = process.env['BENCH_SWITCH_ONLY'] === '1';
  const n = count(ctx, 10, 3);
  const rounds = switchOnly ? 0 : count(ctx, 2, 1);
  const reps = count(ctx, 3, 2);
  const blocks: Block[] = [];
  const switches: SwitchSample[] = [];
  let timings: SwitchTimings;
  const on = await startPair(ctx, true);
  try {
    if (rounds > 0) {
      const off = await startPair(ctx, false);
      try {
        for (let r = 0; r < rounds; r++) {
          // A B, then B A: neither side always runs first.
          const order = r % 2 === 0 ? [true, false] : [false, true];
          for (const priority of order) blocks.push(await block(priority ? on : off, priority, n));
        }
      } finally {
        await stopPair(off);
      }
    }
    const again = await startPair(ctx, true, false);
    try {
      for (let r = 0; r < reps; r++) {
        // Kept then evaluated again, then the other way round.
        const order = r % 2 === 0 ? [true, false] : [false, true];
        for (const kept of order) switches.push(await switchCost(kept ? on : again, kept, r));
      }
    } finally {
      await stopPair(again);
    }
    timings = switchTimings(on.dir);
  } finally {
    await stopPair(on);
  }

  const arm = (
    priority: boolean,
  ): { alone: number[]; during: number[]; evaluated: number[]; asked: number; yielded: number; generated: number } => {
    const mine = blocks.filter((bl) => bl.priority === priority);
    return {
      alone: mine.flatMap((bl) => bl.alone),
      during: mine.flatMap((bl) => bl.during),
      evaluated: mine.flatMap((bl) => bl.duringEvaluated),
      asked: mine.reduce((s, bl) => s + bl.bAsked, 0),
      yielded: mine.reduce((s, bl) => s + (bl.bCounters.after.yielded ?? 0) - (bl.bCounters.before.yielded ?? 0), 0),
      generated: mine.reduce((s, bl) => s + bl.bCounters.after.generated - bl.bCounters.before.generated, 0),
    };
  };
  const withPriority = arm(true);
  const fifo = arm(false);
  const row = (label: string, samples: number[]): (string | number)[] => {
    const s = summarize(samples);
    return [label, s.n, s.p50, s.p95, s.max];
  };
  if (rounds > 0) {
    printTable(
      `Completion latency in window A while window B keeps asking for ${longLimits.maxTokens}-token completions; large model, ${threads} thread(s), A's maxTokens ${typedLimits.maxTokens}`,
      ['', 'n', 'p50 ms', 'p95 ms', 'max ms'],
      [
        row('A while B asks, priority on', withPriority.during),
        row('A while B asks, priority off (FIFO)', fifo.during),
        row('A alone (priority on)', withPriority.alone),
        row('A alone (priority off)', fifo.alone),
      ],
    );
    printTable(
      "Window B's long completions in the same blocks",
      ['', 'asked', 'ran to their end', 'yielded to A'],
      [
        ['priority on', withPriority.asked, withPriority.generated, withPriority.yielded],
        ['priority off (FIFO)', fifo.asked, fifo.generated, fifo.yielded],
      ],
    );
  }
  const side = (kept: boolean): { warm: Summary; cold: Summary; samples: SwitchSample[] } => {
    const samples = switches.filter((x) => x.kept === kept);
    return { warm: summarize(samples.map((x) => x.warmMs)), cold: summarize(samples.map((x) => x.afterSwitchMs)), samples };
  };
  const keptSide = side(true);
  const againSide = side(false);
  const evaluated = (figures: (TokenFigures | null)[]): string =>
    figures.map((f) => (f ? `${f.evaluatedTokens}/${f.promptTokens}` : '-')).join(' ');
  const switchRow = (label: string, sum: Summary, figures: (TokenFigures | null)[]): (string | number)[] => [
    label,
    sum.n,
    sum.p50,
    sum.max,
    evaluated(figures),
  ];
  printTable(
    'One completion sequence for all windows: A typed along a line vs A right after a completion in B (sample document), its state kept across the switch or evaluated again',
    ['', 'n', 'p50 ms', 'max ms', 'prompt tokens evaluated / in prompt'],
    [
      switchRow(
        'A, next key (its prompt in the KV), state kept',
        keptSide.warm,
        keptSide.samples.map((x) => x.warm),
      ),
      switchRow(
        'A, first key after B completed, state kept',
        keptSide.cold,
        keptSide.samples.map((x) => x.afterSwitch),
      ),
      switchRow(
        'A, next key (its prompt in the KV), evaluated again',
        againSide.warm,
        againSide.samples.map((x) => x.warm),
      ),
      switchRow(
        'A, first key after B completed, evaluated again (old)',
        againSide.cold,
        againSide.samples.map((x) => x.afterSwitch),
      ),
    ],
  );
  const save = summarize(timings.saveMs);
  const restore = summarize(timings.restoreMs);
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  printTable(
    'The host at a window switch (state kept): saving the holder’s completion state, restoring the new window’s',
    ['', 'n', 'p50 ms', 'max ms', 'state MiB (p50 / max)'],
    [
      ['save', save.n, save.p50, save.max, `${mib(summarize(timings.bytes).p50)} / ${mib(summarize(timings.bytes).max)}`],
      ['restore', restore.n, restore.p50, restore.max, ''],
    ],
  );
  // Part b alone must not replace the whole benchmark's results.
  const file = writeResult(switchOnly ? 'windowPriority-switch' : 'windowPriority', header, {
    settings: { contextSize, typedLimits, longLimits, gapsMs, n, rounds, reps, switchOnly },
    blocks,
    switches,
    timings,
  });
  process.stdout.write(`${file}\n`);
  const on50 = summarize(withPriority.during).p50;
  const off50 = summarize(fifo.during).p50;
  const alone50 = summarize(withPriority.alone).p50;
  const verdicts = [
    {
      figure: "A's first key after a completion in B, p50: state kept / evaluated again / A's next key",
      value: `${keptSide.cold.p50.toFixed(0)} / ${againSide.cold.p50.toFixed(0)} / ${keptSide.warm.p50.toFixed(0)} ms`,
      target: '-',
      met: null,
    },
    {
      figure: 'window switch: save / restore of a completion state, p50',
      value: `${save.p50.toFixed(0)} / ${restore.p50.toFixed(0)} ms`,
      target: '-',
      met: null,
    },
  ];
  if (rounds > 0) {
    verdicts.unshift({
      figure: 'A while B asks long completions, p50: priority on / off / A alone',
      value: `${on50.toFixed(0)} / ${off50.toFixed(0)} / ${alone50.toFixed(0)} ms`,
      target: '-',
      met: null,
    });
  }
  return { name: 'windowPriority', file, verdicts };
}
