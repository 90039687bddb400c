// #25: what a chat model of its own costs beside the completion model, with the large test model
// (and a second one like it, another seed and name): the host's resident memory loaded and after
// a light sleep, and the wake after a deep sleep, by a keystroke (until the completion) and by a
// chat question (until its first streamed piece), each also until the host holds both models.
// One model for both against two, side by side. Which files the host holds is read from its
// memory map (llama.cpp maps the model file).
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ModelStatus } from '../server/src/shared/protocol';
import { cachedModel, largeOptions } from '../scripts/dev/models';
import { serverSettings } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { chat, close, complete, sleep, startServer, type TestServer } from './lib/lsp';
import { shapeChoice } from './lib/benchModel';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { mib, printTable } from './lib/table';

const contextSize = 2048;
const limits = { maxTokens: 4, maxLines: 1 };
const useDocument = "export type TaskState = 'queued' | 'running';\n";
const cursor = { line: 0, character: 24 };

type Arm = 'one model' | 'two models';

interface ArmFigures {
  loadedRssBytes: number | null;
  lightSleepRssBytes: number | null;
  keystrokeWakeMs: number[];
  chatWakeMs: number[];
  /** From the wake's request until the host held every model it serves. */
  allLoadedAfterKeystrokeMs: number[];
  allLoadedAfterChatMs: number[];
}

function rssOf(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) * 1024 : null;
  } catch {
    return null;
  }
}

function mappedModels(pid: number): number {
  try {
    const lines = readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .filter((l) => l.endsWith('.gguf'));
    return new Set(lines.map((l) => l.slice(l.indexOf('/')))).size;
  } catch {
    return 0;
  }
}

async function waitUntil<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, what: string, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}.`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hostPid = async (server: TestServer): Promise<number> =>
  (
    await waitUntil(
      () => server.status(),
      (s: ModelStatus) => s.memory.hostPid !== null,
      'a host runs',
    )
  ).memory.hostPid!;

async function measureArm(ctx: BenchContext, arm: Arm, chatModel: string, reps: number): Promise<ArmFigures> {
  const models = arm === 'two models' ? 2 : 1;
  const settings = (sleepMode: 'deep' | 'light'): Record<string, unknown> =>
    serverSettings(ctx.largeModel, {
      contextSize,
      sleepMode,
      chat: { model: arm === 'two models' ? chatModel : '' },
      completion: { debounceMs: 0, ...limits },
    });
  const server = await startServer(settings('light'));
  const figures: ArmFigures = {
    loadedRssBytes: null,
    lightSleepRssBytes: null,
    keystrokeWakeMs: [],
    chatWakeMs: [],
    allLoadedAfterKeystrokeMs: [],
    allLoadedAfterChatMs: [],
  };
  let docs = 0;
  const completeOnce = async (): Promise<number> => {
    const uri = `file:///bench/twoModels-${++docs}.ts`;
    server.open(uri, useDocument);
    const { ms } = await complete(server, uri, cursor);
    close(server, uri);
    return ms;
  };
  try {
    await server.waitForState('ready', 300_000);
    let pid = await hostPid(server);
    await waitUntil(
      () => mappedModels(pid),
      (n) => n === models,
      'the host holds every model',
    );
    await completeOnce();
    await chat(server, `load-${arm}`, 'What does this type say?', 4);
    figures.loadedRssBytes = rssOf(pid);
    await sleep(server);
    await waitUntil(
      () => mappedModels(pid),
      (n) => n === 0,
      'the light sleep freed every model',
    );
    figures.lightSleepRssBytes = rssOf(pid);

    server.configure(settings('deep'));
    // Awake again (from the light sleep): each deep sleep below is one this window asks for.
    await completeOnce();
    for (let i = 0; i < reps; i++) {
      for (const by of ['keystroke', 'chat'] as const) {
        await sleep(server);
        await waitUntil(
          () => server.status(),
          (s) => s.state === 'sleeping',
          'the model sleeps',
        );
        await waitUntil(
          () => rssOf(pid),
          (rss) => rss === null,
          'the deep sleep ended the host',
        );
        const started = performance.now();
        if (by === 'keystroke') figures.keystrokeWakeMs.push(await completeOnce());
        else {
          const answer = await chat(server, `wake-${arm}-${i}`, 'Are you there?', 1);
          figures.chatWakeMs.push(answer.firstChunkMs ?? answer.totalMs);
        }
        pid = await hostPid(server);
        await waitUntil(
          () => mappedModels(pid),
          (n) => n === models,
          'the host holds every model',
        );
        (by === 'keystroke' ? figures.allLoadedAfterKeystrokeMs : figures.allLoadedAfterChatMs).push(performance.now() - started);
      }
    }
  } finally {
    await server.stop();
  }
  return figures;
}

/**
 * With a shape (--shape), the chat model is a second file of the same shape: a copy (never a hard
 * link, which would share one inode's page cache), made once beside it.
 */
function chatCopyOf(model: string): string {
  const copy = model.replace(/\.gguf$/, '-chat-copy.gguf');
  if (!existsSync(copy) || statSync(copy).size !== statSync(model).size) copyFileSync(model, copy);
  return copy;
}

export async function runTwoModels(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('twoModels', loadAverage());
  const reps = count(ctx, Number(process.env['BENCH_TWO_MODELS_REPS'] ?? 3), 1);
  const chatModel = shapeChoice() ? chatCopyOf(ctx.largeModel) : await cachedModel({ ...largeOptions, name: 'large-random-chat', seed: 3 });
  const arms: Arm[] = ['one model', 'two models'];
  const results = {} as Record<Arm, ArmFigures>;
  for (const arm of arms) results[arm] = await measureArm(ctx, arm, chatModel, reps);

  const med = (xs: number[]): number | null => (xs.length ? round(median(xs), 0) : null);
  const rows: Array<[string, (f: ArmFigures) => number | null]> = [
    ['host RSS, loaded (MiB)', (f) => mib(f.loadedRssBytes)],
    ['host RSS, light sleep (MiB)', (f) => mib(f.lightSleepRssBytes)],
    ['keystroke wake, until the completion (ms, median)', (f) => med(f.keystrokeWakeMs)],
    ['keystroke wake, until every model is loaded (ms, median)', (f) => med(f.allLoadedAfterKeystrokeMs)],
    ['chat wake, until the first piece (ms, median)', (f) => med(f.chatWakeMs)],
    ['chat wake, until every model is loaded (ms, median)', (f) => med(f.allLoadedAfterChatMs)],
  ];
  printTable(
    `Two models against one (${shapeChoice() ? `${path.basename(ctx.largeModel)} and a copy` : 'large test model x2'}, ${reps} deep wakes each way)`,
    ['figure', ...arms],
    rows.map(([name, read]) => [name, ...arms.map((arm) => read(results[arm]))]),
  );
  const file = writeResult('twoModels', header, {
    contextSize,
    reps,
    models: { completion: ctx.largeModel, chat: chatModel },
    arms: results,
  });
  const one = results['one model'];
  const two = results['two models'];
  return {
    name: 'twoModels',
    file,
    verdicts: [
      {
        figure: 'Keystroke wake with two models / one (median)',
        value: `${med(two.keystrokeWakeMs)} / ${med(one.keystrokeWakeMs)} ms`,
        target: 'the chat model loads behind',
        met: null,
      },
      {
        figure: 'Host RSS loaded, two models / one',
        value: `${mib(two.loadedRssBytes)} / ${mib(one.loadedRssBytes)} MiB`,
        target: '-',
        met: null,
      },
    ],
  };
}
