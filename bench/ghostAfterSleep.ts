// 7. The first ghost text after a return from sleep: the model fell asleep (idle, light or deep),
// the window gets the focus back (localLlm/activity {kind: 'focus'}, which starts the wake), and a
// key is typed one second later; its completion against an awake key typed at the same place just
// before the sleep. The server keeps the completion sequence's state across the sleep, so the key
// after the wake evaluates only its new tokens; what is left is the part of the wake that the
// second did not cover. Deep sleep twice: with its standby host (localLlm.sleep.standby, the
// default), and without (the wake starts a new host process). BENCH_GHOST_REPS sets the repetitions.
import { rmSync } from 'node:fs';
import { ActivityNotification, type SleepMode, type TokenFigures } from '../server/src/shared/protocol';
import type { WakeBreakdown } from '../server/src/host/wakeBreakdown';
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { longFile } from './lib/codeFiles';
import { EditorBuffer } from './lib/editorBuffer';
import { completeHere, keystroke } from './lib/keystroke';
import { startServer } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';
import { benchRuntimeDir, lastBreakdown, standbysReady, waitForStandby } from './lib/standby';

const contextSize = 4096;
const limits = { maxTokens: 16, maxLines: 4 };
const lineCount = 3000;
const focusToKeyMs = 1000;
/** After the model is asleep, before the focus comes back. */
const asleepMs = 500;
const targetRatio = 1.2;
/** How the model sleeps: light, deep with its standby host, deep without. */
type GhostMode = 'light' | 'deep' | 'deep-nostandby';
const modes: GhostMode[] = ['light', 'deep', 'deep-nostandby'];
const sleepModeOf = (mode: GhostMode): SleepMode => (mode === 'light' ? 'light' : 'deep');

interface Cycle {
  mode: GhostMode;
  rep: number;
  loadAverage: number[];
  awakeMs: number;
  afterMs: number;
  /** The key after that one: what a key costs once the woken model has run once. */
  secondMs: number;
  awake: TokenFigures | null;
  after: TokenFigures | null;
  second: TokenFigures | null;
  /** Model host CPU time of the awake key and of the next key after the wake. */
  hostCpuMs: { awake: number | null; next: number | null };
  /** The state when the key was typed, one second after the focus. */
  stateAtKey: string;
  /** The server's last wake, from its start to ready. */
  wakeMs: number | null;
  /** The host's account of the wake; null when it logged none. */
  breakdown: WakeBreakdown | null;
  /** RSS of the standby host while asleep; null without one. */
  standbyRssBytes: number | null;
  /** Whether the awake key and the key after the sleep ran the model (not the cache, not dropped): only such pairs are compared. */
  generated: { awake: boolean; after: boolean };
}

const brief = (t: TokenFigures | null): object | null =>
  t && { evaluatedTokens: t.evaluatedTokens, reusedTokens: t.reusedTokens, generatedTokens: t.generatedTokens, hostMs: round(t.ms) };

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runGhostAfterSleep(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('ghostAfterSleep', loadAverage());
  const reps = count(ctx, Number(process.env['BENCH_GHOST_REPS'] ?? 6), 1);
  const settings = (mode: GhostMode, sleepIdleSeconds: number): Record<string, unknown> =>
    serverSettings(ctx.largeModel, {
      contextSize,
      sleepMode: sleepModeOf(mode),
      sleep: { standby: mode !== 'deep-nostandby' },
      sleepIdleSeconds,
      // A shape-true model on this CPU may not reach its first token within the default 1.5 s cap,
      // and a key that generated nothing is no baseline: with a shape, every key generates its tokens.
      completion: { debounceMs: 0, ...limits, ...(process.env['BENCH_SHAPE'] ? { maxMs: 0 } : {}) },
    });
  const file = longFile(lineCount);
  const runtimeDir = benchRuntimeDir();
  const server = await startServer(settings('light', 0), { env: { LOCAL_LLM_RUNTIME_DIR: runtimeDir } });
  const cycles: Cycle[] = [];
  try {
    await server.waitForState('ready', 180_000);
    const buffer = new EditorBuffer(server, 'file:///bench/ghost-after-sleep.ts', file.text, file.offset);
    let shown = (await completeHere(server, buffer)).shown;
    for (let rep = 0; rep < reps; rep++) {
      // A B, then B A.
      for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
        const load = loadAverage();
        const awake = await keystroke(server, buffer, shown);
        shown = awake.shown;
        const standbysBefore = standbysReady(runtimeDir);
        // The idle sleep (a "Sleep Now" would ignore the focus: only typing wakes the model after it).
        server.configure(settings(mode, 1));
        await server.waitForState('sleeping', 60_000);
        server.configure(settings(mode, 0));
        // A user comes back minutes later: the standby has finished its warm-up by then.
        if (mode === 'deep' && !(await waitForStandby(server, runtimeDir, standbysBefore)))
          throw new Error('No standby host after the deep sleep.');
        const standbyRssBytes = (await server.status()).memory.standbyRssBytes ?? null;
        await delay(asleepMs);
        const logsBefore = server.logs.length;
        void server.connection.sendNotification(ActivityNotification.type, { kind: 'focus' });
        await delay(focusToKeyMs);
        const stateAtKey = (await server.status()).state;
        const after = await keystroke(server, buffer, shown);
        shown = after.shown;
        const status = await server.status();
        const second = await keystroke(server, buffer, shown);
        shown = second.shown;
        const cycle: Cycle = {
          mode,
          rep,
          loadAverage: load,
          awakeMs: awake.ms,
          afterMs: after.ms,
          secondMs: second.ms,
          awake: awake.figures,
          after: after.figures,
          second: second.figures,
          hostCpuMs: { awake: awake.hostCpuMs, next: second.hostCpuMs },
          stateAtKey,
          wakeMs: status.counters.lastWakeMs,
          breakdown: lastBreakdown(server, logsBefore),
          standbyRssBytes,
          generated: { awake: awake.generated, after: after.generated },
        };
        cycles.push(cycle);
        process.stdout.write(
          `  rep ${rep + 1} ${mode}: awake ${Math.round(awake.ms)} ms, after sleep ${Math.round(after.ms)} ms, next ${Math.round(second.ms)} ms (${stateAtKey} at the key, wake ${cycle.wakeMs} ms; ` +
            `evaluated ${after.figures?.evaluatedTokens ?? '?'} of ${after.figures?.promptTokens ?? '?'}) (load ${load[0]})\n`,
        );
      }
    }
    buffer.close();
  } finally {
    await server.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  }

  const of = (mode: GhostMode, f: (c: Cycle) => number | null | undefined): number =>
    median(cycles.filter((c) => c.mode === mode).map((c) => f(c) ?? Number.NaN));
  // A key the model did not run for (answered from the cache, or dropped) says nothing of the wake's cost against an awake key.
  const compared = (c: Cycle): boolean => c.generated.awake && c.generated.after;
  const ratio = (mode: GhostMode): number => median(cycles.filter((c) => c.mode === mode && compared(c)).map((c) => c.afterMs / c.awakeMs));
  const pairs = (mode: GhostMode): number => cycles.filter((c) => c.mode === mode && compared(c)).length;
  printTable(
    `First ghost text after sleep: focus, then a key ${focusToKeyMs} ms later, vs an awake key at the same place (median of ${reps}); ${process.env['BENCH_SHAPE'] ?? 'large'} model, ${lineCount}-line file, context ${contextSize}, ${threads} thread(s); ms`,
    [
      'sleep',
      'awake key',
      'key after sleep',
      'ratio',
      'next key',
      'host ms: awake / after / next',
      'wake ms',
      'evaluated after sleep',
      'reused after sleep',
      'prompt tokens',
    ],
    modes.map((m) => [
      m,
      of(m, (c) => c.awakeMs),
      of(m, (c) => c.afterMs),
      round(ratio(m), 2),
      of(m, (c) => c.secondMs),
      [of(m, (c) => c.awake?.ms), of(m, (c) => c.after?.ms), of(m, (c) => c.second?.ms)].map((x) => Math.round(x)).join(' / '),
      of(m, (c) => c.wakeMs),
      of(m, (c) => c.after?.evaluatedTokens),
      of(m, (c) => c.after?.reusedTokens),
      of(m, (c) => c.after?.promptTokens),
    ]),
  );
  const resultFile = writeResult('ghostAfterSleep', header, {
    model: {
      path: ctx.largeModel,
      kind: process.env['BENCH_SHAPE']
        ? `${process.env['BENCH_SHAPE']} shape, random weights`
        : 'large random (8 layers x 1024, F16, 258 MiB)',
    },
    settings: {
      contextSize,
      threads,
      debounceMs: 0,
      maxMs: process.env['BENCH_SHAPE'] ? 0 : 'default (1500)',
      ...limits,
      lineCount,
      focusToKeyMs,
      asleepMs,
      repetitions: reps,
    },
    note:
      'Milliseconds from the inline completion request to its answer at the client. The model fell asleep through localLlm.sleepIdleSeconds (1 s); ' +
      `${asleepMs} ms later a localLlm/activity {kind: focus} notification, and ${focusToKeyMs} ms after it a key and its completion, then one more key. The awake key was typed at the same place right before the sleep. hostMs: the status lastCompletion.ms (time in the model host). ratio: the median of after / awake over the cycles where both keys ran the model (ratioPairs of them). deep: with the standby host, woken once its warm-up was done; deep-nostandby: localLlm.sleep.standby false.`,
    medians: Object.fromEntries(
      modes.map((m) => [
        m,
        {
          awakeMs: round(of(m, (c) => c.awakeMs)),
          afterMs: round(of(m, (c) => c.afterMs)),
          ratio: round(ratio(m), 3),
          ratioPairs: pairs(m),
          nextKeyMs: round(of(m, (c) => c.secondMs)),
          hostMs: {
            awake: round(of(m, (c) => c.awake?.ms)),
            after: round(of(m, (c) => c.after?.ms)),
            next: round(of(m, (c) => c.second?.ms)),
          },
          wakeMs: of(m, (c) => c.wakeMs),
          standbyRssMB: round(of(m, (c) => (c.standbyRssBytes === null ? null : c.standbyRssBytes / 1048576))),
        },
      ]),
    ),
    target: { ratio: targetRatio },
    cycles: cycles.map((c) => ({
      ...c,
      awakeMs: round(c.awakeMs),
      afterMs: round(c.afterMs),
      secondMs: round(c.secondMs),
      awake: brief(c.awake),
      after: brief(c.after),
      second: brief(c.second),
    })),
  });
  return {
    name: 'ghostAfterSleep',
    file: resultFile,
    verdicts: modes.map((m) => ({
      figure: `First ghost text after ${m} sleep (focus, key 1 s later) vs awake key`,
      value: `${Math.round(of(m, (c) => c.afterMs))} vs ${Math.round(of(m, (c) => c.awakeMs))} ms = ${ratio(m).toFixed(2)}x over ${pairs(m)} pair(s) where both keys ran the model (wake ${Math.round(of(m, (c) => c.wakeMs))} ms; evaluated ${of(m, (c) => c.after?.evaluatedTokens)} of ${of(m, (c) => c.after?.promptTokens)} tokens)`,
      target: `<= ${targetRatio}x`,
      met: pairs(m) === 0 ? null : ratio(m) <= targetRatio,
    })),
  };
}
