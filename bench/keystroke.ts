// 6. Typing along one line, per keystroke: a completion after each key (debounce 0) in a
// 3,000-line file, in a 30-line file, and as a cold prompt of the same 3,000-line file (another
// document's completion has replaced the completion sequence's KV cache before each key). With
// a prompt whose front stays put, a key in the long file evaluates only the cursor line's new
// tokens, as in the short one; the server's status says how many it evaluated and reused.
// Then the first ghost text after a pause: a key typed in the long file after the user paused
// (past the adaptive debounce's pause), with debounce 0 and with the default; and the size of
// the completion state the model host saves when it sleeps.
import type { CompletionPace, TokenFigures } from '../server/src/shared/protocol';
import { debounceTuning } from '../server/src/completion/adaptiveDebounce';
import { defaultSettings } from '../server/src/shared/settings';
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { longFile, shortFile, type CodeFile } from './lib/codeFiles';
import { EditorBuffer } from './lib/editorBuffer';
import { completeHere, keystroke, type Keystroke } from './lib/keystroke';
import { sleep, type TestServer } from './lib/lsp';
import { startWithOwnStorage } from './lib/ownStorage';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { describeState, savedState, type SavedState } from './lib/savedStates';
import { median, round, roundSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 4096;
const limits = { maxTokens: 16, maxLines: 4 };
const longLines = 3000;
const shortLines = 30;
const targetLongOverShort = 1.2;
const targetLongOverCold = 0.25;
/** Longer than the adaptive debounce's pause, so each of these keys is the first after one. */
const pauseMs = debounceTuning.pauseMs + 500;
const defaultDebounceMs = defaultSettings.completion.debounceMs;

type Kind = 'long' | 'short' | 'cold';
const kinds: Kind[] = ['long', 'short', 'cold'];
const labels: Record<Kind, string> = {
  long: `${longLines}-line file`,
  short: `${shortLines}-line file`,
  cold: `${longLines}-line file, cold prompt`,
};

interface Run {
  kind: Kind;
  rep: number;
  loadAverage: number[];
  /** The document's first completion (not counted): the model has read the file once, as by the time anyone types. */
  prime: Keystroke | null;
  samples: Keystroke[];
  /** Keys the model did not run for (the server's cache answered); not in the figures. */
  notGenerated: number;
}

/** Types `keys` characters along the cursor line, a completion after each. */
async function typeAlong(
  server: TestServer,
  file: CodeFile,
  uri: string,
  keys: number,
): Promise<Omit<Run, 'kind' | 'rep' | 'loadAverage'>> {
  const buffer = new EditorBuffer(server, uri, file.text, file.offset);
  try {
    const prime = await completeHere(server, buffer);
    let shown = prime.shown;
    const samples: Keystroke[] = [];
    let notGenerated = 0;
    for (let k = 0; k < keys; k++) {
      const s = await keystroke(server, buffer, shown);
      shown = s.shown;
      if (s.generated) samples.push(s);
      else notGenerated++;
    }
    return { prime, samples, notGenerated };
  } finally {
    buffer.close();
  }
}

/** The same keys in the long file, each after a completion in a small unrelated document has replaced the sequence's KV. */
async function typeCold(
  server: TestServer,
  file: CodeFile,
  uri: string,
  keys: number,
  rep: number,
): Promise<Omit<Run, 'kind' | 'rep' | 'loadAverage'>> {
  const buffer = new EditorBuffer(server, uri, file.text, file.offset);
  try {
    let shown: string | null = null;
    const samples: Keystroke[] = [];
    let notGenerated = 0;
    for (let k = 0; k < keys; k++) {
      // A new document each time, so the server's cache never answers in its place.
      const scratch = `// scratch ${rep}-${k}\nlet note = `;
      const evict = new EditorBuffer(server, `file:///bench/keystroke-scratch-${rep}-${k}.ts`, scratch, scratch.length);
      await completeHere(server, evict);
      evict.close();
      const s = await keystroke(server, buffer, shown);
      shown = s.shown;
      if (s.generated) samples.push(s);
      else notGenerated++;
    }
    return { prime: null, samples, notGenerated };
  } finally {
    buffer.close();
  }
}

interface PauseKey {
  debounceMs: number;
  loadAverage: number[];
  key: Keystroke;
}

/** Keys in the long file, each after a pause, alternately with debounce 0 and the default (A B, then B A). */
async function typeAfterPauses(
  server: TestServer,
  file: CodeFile,
  keys: number,
  configure: (debounceMs: number) => void,
): Promise<{ pauses: PauseKey[]; notGenerated: number }> {
  const buffer = new EditorBuffer(server, 'file:///bench/keystroke-pause.ts', file.text, file.offset);
  const pauses: PauseKey[] = [];
  let notGenerated = 0;
  try {
    let shown = (await completeHere(server, buffer)).shown;
    for (let k = 0; k < keys; k++) {
      for (const debounceMs of k % 2 === 0 ? [0, defaultDebounceMs] : [defaultDebounceMs, 0]) {
        configure(debounceMs);
        await new Promise((r) => setTimeout(r, pauseMs));
        const load = loadAverage();
        const key = await keystroke(server, buffer, shown);
        shown = key.shown;
        if (key.generated) pauses.push({ debounceMs, loadAverage: load, key });
        else notGenerated++;
      }
    }
  } finally {
    buffer.close();
  }
  return { pauses, notGenerated };
}

async function waitAsleep(server: TestServer): Promise<void> {
  for (let i = 0; i < 1200 && (await server.status()).state !== 'sleeping'; i++) await new Promise((r) => setTimeout(r, 50));
}

const figureOf = (runs: Run[], kind: Kind, f: (t: TokenFigures) => number): number[] =>
  runs.filter((r) => r.kind === kind).flatMap((r) => r.samples.map((s) => (s.figures ? f(s.figures) : Number.NaN)));
const msOf = (runs: Run[], kind: Kind): number[] => runs.filter((r) => r.kind === kind).flatMap((r) => r.samples.map((s) => s.ms));
const cpuOf = (runs: Run[], kind: Kind): number[] =>
  runs.filter((r) => r.kind === kind).flatMap((r) => r.samples.flatMap((s) => (s.hostCpuMs === null ? [] : [s.hostCpuMs])));

export async function runKeystroke(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('keystroke', loadAverage());
  const reps = count(ctx, 3, 1, 2);
  const keys = count(ctx, 16, 3, 8);
  const coldKeys = count(ctx, 2, 1, 1);
  const pauseKeys = count(ctx, 4, 1, 3);
  const files: Record<Exclude<Kind, 'cold'>, CodeFile> = { long: longFile(longLines), short: shortFile(shortLines) };
  const settings = (debounceMs: number): Record<string, unknown> =>
    serverSettings(ctx.model.path, { contextSize, completion: { debounceMs, ...limits } });
  // A storage folder of our own, to read the state files the sleep writes.
  const own = await startWithOwnStorage('keystroke', settings(0));
  const { server, storageDir } = own;
  const runs: Run[] = [];
  let pauses: PauseKey[];
  let pausesNotGenerated: number;
  let pace: CompletionPace | null;
  let completionState: SavedState | null;
  try {
    await server.waitForState('ready', 180_000);
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order, so no kind always comes first.
      for (const kind of kinds.map((_, i) => kinds[(i + rep) % kinds.length])) {
        const load = loadAverage();
        const uri = `file:///bench/keystroke-${kind}-${rep}.ts`;
        const run =
          kind === 'cold' ? await typeCold(server, files.long, uri, coldKeys, rep) : await typeAlong(server, files[kind], uri, keys);
        runs.push({ kind, rep, loadAverage: load, ...run });
        const ms = run.samples.map((s) => s.ms);
        process.stdout.write(
          `  rep ${rep + 1} ${labels[kind]}: p50 ${Math.round(median(ms))} ms over ${ms.length} keys; evaluated ${run.samples.map((s) => s.figures?.evaluatedTokens ?? '?').join(' ')} (load ${load[0]})\n`,
        );
      }
    }
    pace = (await server.status()).completionPace ?? null;
    ({ pauses, notGenerated: pausesNotGenerated } = await typeAfterPauses(server, files.long, pauseKeys, (d) =>
      server.configure(settings(d)),
    ));
    process.stdout.write(
      `  keys after a ${pauseMs} ms pause: ${pauses.map((p) => `${Math.round(p.key.ms)} ms (debounce ${p.debounceMs})`).join(', ')}\n`,
    );
    // The model host saves the completion sequence (the long file's prompt) before it sleeps.
    await sleep(server);
    await waitAsleep(server);
    completionState = savedState(storageDir, ctx.model.path, 'completion');
    process.stdout.write(`  completion state saved at the sleep: ${describeState(completionState)}\n`);
  } finally {
    await own.stop();
  }

  const stats = Object.fromEntries(
    kinds.map((kind) => [
      kind,
      {
        ms: summarize(msOf(runs, kind)),
        hostCpuMs: summarize(cpuOf(runs, kind)),
        promptTokens: summarize(figureOf(runs, kind, (t) => t.promptTokens)),
        evaluatedTokens: summarize(figureOf(runs, kind, (t) => t.evaluatedTokens)),
        reusedTokens: summarize(figureOf(runs, kind, (t) => t.reusedTokens)),
        generatedTokens: summarize(figureOf(runs, kind, (t) => t.generatedTokens)),
        hostMs: summarize(figureOf(runs, kind, (t) => t.ms)),
        tokensPerSecond: summarize(figureOf(runs, kind, (t) => t.tokensPerSecond ?? Number.NaN).filter((x) => !Number.isNaN(x))),
      },
    ]),
  ) as Record<
    Kind,
    Record<
      'ms' | 'hostCpuMs' | 'promptTokens' | 'evaluatedTokens' | 'reusedTokens' | 'generatedTokens' | 'hostMs' | 'tokensPerSecond',
      ReturnType<typeof summarize>
    >
  >;
  printTable(
    `Per keystroke, completion after each key (debounce 0); ${ctx.model.kind}, context ${contextSize}, ${threads} thread(s), maxTokens ${limits.maxTokens}`,
    [
      'typing in',
      'keys',
      'p50 ms',
      'p95 ms',
      'host CPU ms p50',
      'prompt tokens p50',
      'evaluated p50',
      'evaluated max',
      'reused p50',
      'generated p50',
      'host ms p50',
      'generated tokens/s p50',
    ],
    kinds.map((k) => {
      const s = stats[k];
      return [
        labels[k],
        s.ms.n,
        s.ms.p50,
        s.ms.p95,
        s.hostCpuMs.p50,
        s.promptTokens.p50,
        s.evaluatedTokens.p50,
        s.evaluatedTokens.max,
        s.reusedTokens.p50,
        s.generatedTokens.p50,
        s.hostMs.p50,
        s.tokensPerSecond.p50,
      ];
    }),
  );
  const longOverShort = stats.long.ms.p50 / stats.short.ms.p50;
  const longOverCold = stats.long.ms.p50 / stats.cold.ms.p50;
  // The same in CPU time of the model host, which the other work on a shared machine stretches less than wall time.
  const cpuLongOverShort = stats.long.hostCpuMs.p50 / stats.short.hostCpuMs.p50;
  const cpuLongOverCold = stats.long.hostCpuMs.p50 / stats.cold.hostCpuMs.p50;
  process.stdout.write(
    `3,000-line / 30-line: ${longOverShort.toFixed(2)}x (target <= ${targetLongOverShort}x); 3,000-line / cold prompt: ${longOverCold.toFixed(2)} (target <= ${targetLongOverCold}). ` +
      `In host CPU time: ${cpuLongOverShort.toFixed(2)}x and ${cpuLongOverCold.toFixed(2)}. Each key also generates up to ${limits.maxTokens} tokens, which no reuse saves.\n`,
  );
  const pauseStats = Object.fromEntries(
    [0, defaultDebounceMs].map((d) => {
      const of = pauses.filter((p) => p.debounceMs === d);
      const fig = (f: (t: TokenFigures) => number | null): ReturnType<typeof summarize> =>
        summarize(of.flatMap((p) => (p.key.figures ? [f(p.key.figures) ?? Number.NaN] : [])).filter((x) => !Number.isNaN(x)));
      return [
        d,
        {
          ms: summarize(of.map((p) => p.key.ms)),
          hostMs: fig((t) => t.ms),
          evaluatedTokens: fig((t) => t.evaluatedTokens),
          generatedTokens: fig((t) => t.generatedTokens),
          tokensPerSecond: fig((t) => t.tokensPerSecond),
        },
      ];
    }),
  ) as Record<number, Record<'ms' | 'hostMs' | 'evaluatedTokens' | 'generatedTokens' | 'tokensPerSecond', ReturnType<typeof summarize>>>;
  printTable(
    `First ghost text after a ${pauseMs} ms pause, ${longLines}-line file: ms from the key's request to its answer`,
    ['debounce ms', 'keys', 'p50 ms', 'max ms', 'host ms p50', 'evaluated p50', 'generated p50', 'generated tokens/s p50'],
    Object.entries(pauseStats).map(([d, x]) => [
      `${d}${Number(d) === defaultDebounceMs ? ' (default)' : ''}`,
      x.ms.n,
      x.ms.p50,
      x.ms.max,
      x.hostMs.p50,
      x.evaluatedTokens.p50,
      x.generatedTokens.p50,
      x.tokensPerSecond.p50,
    ]),
  );
  if (pace) process.stdout.write(`Completion pace (status): ${JSON.stringify(pace)}\n`);

  const file = writeResult('keystroke', header, {
    model: { path: ctx.model.path, kind: ctx.model.kind },
    settings: {
      contextSize,
      threads,
      debounceMs: 0,
      ...limits,
      maxMs: defaultSettings.completion.maxMs,
      longLines,
      shortLines,
      keysPerRun: keys,
      coldKeysPerRun: coldKeys,
      repetitions: reps,
      pauseMs,
      pauseKeysPerDebounce: pauseKeys,
      defaultDebounceMs,
    },
    note:
      'Milliseconds from the inline completion request to its answer at the client, for keys the model ran for; token figures from the status lastCompletion after each key; ' +
      'hostCpuMs: user + system CPU time of the model host process over the request (/proc, 10 ms resolution). ' +
      'Cold: before each key a completion in a small unrelated document replaced the completion sequence, so the same prompt is evaluated from scratch. ' +
      `afterPause: a key in the ${longLines}-line file ${pauseMs} ms after the previous answer, with debounce 0 and the default (the adaptive debounce waits its floor after a pause). ` +
      'completionState: the state file the model host saved when it slept after them (the long file in the completion sequence). ' +
      'completionPace: the status after the typing runs (capped: completions cut at localLlm.completion.maxMs).',
    summary: Object.fromEntries(
      kinds.map((k) => [k, Object.fromEntries(Object.entries(stats[k]).map(([name, s]) => [name, roundSummary(s)]))]),
    ),
    ratios: {
      longOverShortP50: round(longOverShort, 3),
      longOverColdP50: round(longOverCold, 3),
      hostCpuLongOverShortP50: round(cpuLongOverShort, 3),
      hostCpuLongOverColdP50: round(cpuLongOverCold, 3),
    },
    targets: { longOverShort: targetLongOverShort, longOverCold: targetLongOverCold },
    afterPause: Object.fromEntries(
      Object.entries(pauseStats).map(([d, x]) => [
        `debounce${d}`,
        Object.fromEntries(Object.entries(x).map(([k, v]) => [k, roundSummary(v)])),
      ]),
    ),
    afterPauseNotGenerated: pausesNotGenerated,
    afterPauseKeys: pauses.map((p) => ({
      debounceMs: p.debounceMs,
      loadAverage: p.loadAverage,
      ms: round(p.key.ms),
      hostMs: p.key.figures ? round(p.key.figures.ms) : null,
      evaluatedTokens: p.key.figures?.evaluatedTokens ?? null,
      generatedTokens: p.key.figures?.generatedTokens ?? null,
    })),
    completionState,
    completionPace: pace,
    runs: runs.map((r) => ({
      kind: r.kind,
      rep: r.rep,
      loadAverage: r.loadAverage,
      notGenerated: r.notGenerated,
      prime: r.prime?.figures
        ? { ms: round(r.prime.ms), evaluatedTokens: r.prime.figures.evaluatedTokens, promptTokens: r.prime.figures.promptTokens }
        : null,
      keys: r.samples.map((s) => ({
        ms: round(s.ms),
        hostCpuMs: s.hostCpuMs,
        promptTokens: s.figures?.promptTokens ?? null,
        evaluatedTokens: s.figures?.evaluatedTokens ?? null,
        reusedTokens: s.figures?.reusedTokens ?? null,
        generatedTokens: s.figures?.generatedTokens ?? null,
        hostMs: s.figures ? round(s.figures.ms) : null,
        tokensPerSecond: s.figures?.tokensPerSecond == null ? null : round(s.figures.tokensPerSecond),
      })),
    })),
  });
  const ms = (k: Kind): string => `${Math.round(stats[k].ms.p50)} ms`;
  return {
    name: 'keystroke',
    file,
    verdicts: [
      {
        figure: `Per keystroke p50, ${longLines}-line vs ${shortLines}-line file`,
        value: `${ms('long')} vs ${ms('short')} = ${longOverShort.toFixed(2)}x (p95 ${Math.round(stats.long.ms.p95)} vs ${Math.round(stats.short.ms.p95)} ms; host CPU ${cpuLongOverShort.toFixed(2)}x)`,
        target: `<= ${targetLongOverShort}x`,
        met: longOverShort <= targetLongOverShort,
      },
      {
        figure: `Per keystroke p50, ${longLines}-line file vs its cold prompt`,
        value: `${ms('long')} vs ${ms('cold')} = ${longOverCold.toFixed(2)} (host CPU ${cpuLongOverCold.toFixed(2)})`,
        target: `<= ${targetLongOverCold}`,
        met: longOverCold <= targetLongOverCold,
      },
      {
        figure: 'Prompt tokens evaluated / reused per keystroke (p50)',
        value: kinds.map((k) => `${k} ${stats[k].evaluatedTokens.p50} / ${stats[k].reusedTokens.p50}`).join(', '),
        target: '-',
        met: null,
      },
      {
        figure: `First ghost text after a pause, p50: debounce 0 / ${defaultDebounceMs} (default)`,
        value: `${Math.round(pauseStats[0].ms.p50)} / ${Math.round(pauseStats[defaultDebounceMs].ms.p50)} ms (${pauseStats[0].ms.n} / ${pauseStats[defaultDebounceMs].ms.n} keys; ${pauseStats[0].generatedTokens.p50} tokens generated p50)`,
        target: '-',
        met: null,
      },
      { figure: 'Completion state file, saved at the sleep', value: describeState(completionState), target: '-', met: null },
    ],
  };
}
