// 5. Chat across sleep: the time to the first token of a follow-up question right after a wake,
// against a follow-up with the model awake, and against the direct engine doing the same wake
// with and without the conversation's sequence state saved to disk (the server does not save
// sequence state yet, so the "with state" figures exist for the direct engine only).
// Also the first question's time to first token and how fast its answer streams, and the size of
// the chat state the model host saves at each sleep.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChatHistory, contextPart, defaultHistoryLimits } from '../server/src/chat/history';
import { planTurn, type TurnPlan } from '../server/src/chat/turnPlan';
import { LastChatPromptRequest, type ChatContext, type SleepMode } from '../server/src/shared/protocol';
import { DirectEngine } from './direct/engine';
import type { EngineChatMessage, EngineLoadParams } from './direct/engineProtocol';
import { gpu, gpuLayers, serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { sampleDocument } from './lib/document';
import { chat, sleep, type TestServer, type TimedChat } from './lib/lsp';
import { startWithOwnStorage } from './lib/ownStorage';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { describeState, savedState, type SavedState } from './lib/savedStates';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';

const contextSize = 2048;
// The server's own answer limit (chatFeature.ts); the answers are stopped long before it.
const maxAnswerTokens = 1024;
const firstAnswerChunks = 12;
/** Room for the direct engine's saved states (the server's default localLlm.stateCacheMB is far more than one conversation). */
const stateCapBytes = 256 * 1024 * 1024;
const selection = sampleDocument.slice(sampleDocument.indexOf('  cancel(id: number)'), sampleDocument.indexOf('  get size()'));
const chatContext: ChatContext = { fileName: 'scheduler.ts', languageId: 'typescript', selection };

type Kind = 'awake' | SleepMode;
const kinds: Kind[] = ['awake', 'light', 'deep'];

interface Rep {
  historyTokensApprox: number;
  /** The conversation's first question (with the selection): time to its first token, and the answer's figures. */
  firstQuestion: FirstQuestion;
  server: Record<Kind, number | null>;
  /** The chat state file the server's model host saved at each sleep. */
  savedState: Record<SleepMode, SavedState | null>;
  direct: {
    awake: number | null;
    lightNoState: number;
    lightWithState: number;
    deepNoState: number;
    deepWithState: number;
    stateBytes: number;
    stateLoadMs: number;
  };
}

/** The turn the server plans for this question (chat/turnPlan.ts), with the editor context as its one mention. */
function planFor(history: ChatHistory, sessionId: string, question: string, context?: ChatContext): TurnPlan {
  const mention = contextPart(context, defaultHistoryLimits.maxContextChars);
  return planTurn({
    question,
    mentions: mention ? [mention] : [],
    retrieved: [],
    history: history.turns(sessionId),
    contextTokens: contextSize,
  });
}

async function waitSleeping(server: TestServer): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await server.status()).state === 'sleeping') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('The model did not fall asleep.');
}

interface FirstQuestion {
  firstChunkMs: number | null;
  /**
   * Streamed pieces a second from the first to the last: a piece per generated token, fewer where a
   * token ends inside a character. (A stopped answer leaves no figures in the status's lastChat.)
   */
  piecesPerSecond: number | null;
  /** The prompt's tokens as the server counted them (localLlm/lastChatPrompt). */
  promptTokens: number | null;
}

async function firstQuestionOf(server: TestServer, answer: TimedChat): Promise<FirstQuestion> {
  const { firstChunkMs, lastChunkMs, chunks } = answer;
  const streamedMs = firstChunkMs === null || lastChunkMs === null ? 0 : lastChunkMs - firstChunkMs;
  const prompt = await server.connection.sendRequest(LastChatPromptRequest.type);
  return {
    firstChunkMs,
    piecesPerSecond: chunks > 1 && streamedMs > 0 ? ((chunks - 1) * 1000) / streamedMs : null,
    promptTokens: prompt ? prompt.parts.filter((p) => p.fit !== 'dropped').reduce((n, p) => n + p.tokens, 0) : null,
  };
}

export async function runChatAcrossSleep(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('chatAcrossSleep', loadAverage());
  const reps = count(ctx, 2, 1);
  const settings = (mode: SleepMode): Record<string, unknown> => serverSettings(ctx.model.path, { contextSize, sleepMode: mode });
  const loadParams: EngineLoadParams = { modelPath: ctx.model.path, gpu, gpuLayers, contextSize, threads };
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'bench-chat-state-'));
  // The engine's own state store: saved to this folder before a sleep, restored (record checked) after the load.
  const withState: EngineLoadParams = { ...loadParams, stateDir };
  // The server's storage, to read the state files its sleeps write.
  const own = await startWithOwnStorage('chat', settings('light'));
  const { server, storageDir } = own;
  const mirror = new DirectEngine();
  const results: Rep[] = [];
  try {
    await server.waitForState('ready', 180_000);
    await mirror.request({ op: 'load', params: withState });
    for (let rep = 0; rep < reps; rep++) {
      const sessionId = `bench-${rep}`;
      // The same messages the server builds, so the direct engine evaluates the same conversation.
      const history = new ChatHistory();
      const first = `Question ${rep + 1}: what does cancel() do with a task that is already running?`;
      const plan0 = planFor(history, sessionId, first, chatContext);
      const messages0 = plan0.messages as EngineChatMessage[];
      const a0 = await chat(server, sessionId, first, firstAnswerChunks, chatContext);
      const firstQuestion = await firstQuestionOf(server, a0);
      history.record(sessionId, plan0.userMessage, a0.result.text);
      await mirror.request({ op: 'chat', messages: messages0, maxTokens: maxAnswerTokens, stopAfterChunks: firstAnswerChunks });

      const rec: Rep = {
        historyTokensApprox: messages0.reduce((n, m) => n + m.text.length, 0) + a0.result.text.length,
        firstQuestion,
        server: { awake: null, light: null, deep: null },
        savedState: { light: null, deep: null },
        direct: { awake: null, lightNoState: 0, lightWithState: 0, deepNoState: 0, deepWithState: 0, stateBytes: 0, stateLoadMs: 0 },
      };
      // Rotate the order, so no kind always comes first.
      const order = kinds.map((_, i) => kinds[(i + rep) % kinds.length]);
      for (const kind of order) {
        const question = `Follow-up (${kind}): and what happens to its retries?`;
        const plan = planFor(history, sessionId, question);
        const messages = plan.messages as EngineChatMessage[];
        if (kind !== 'awake') {
          server.configure(settings(kind));
          await sleep(server);
          await waitSleeping(server);
          rec.savedState[kind] = savedState(storageDir, ctx.model.path, 'chat');
        }
        const answer = await chat(server, sessionId, question, 1);
        rec.server[kind] = answer.firstChunkMs;
        history.record(sessionId, plan.userMessage, answer.result.text);

        // The direct engine, from the same conversation state.
        if (kind === 'awake') {
          const r = await mirror.request({ op: 'chat', messages, maxTokens: maxAnswerTokens, stopAfterChunks: 1 });
          rec.direct.awake = r.firstChunkMs;
          continue;
        }
        const saved = await mirror.request({ op: 'saveStates', capBytes: stateCapBytes });
        const chatState = saved.saved.find((state) => state.kind === 'chat');
        if (!chatState) throw new Error('The direct engine saved no chat state.');
        rec.direct.stateBytes = chatState.bytes;
        if (kind === 'light') {
          // Without the state first: the mirror's last load keeps the state folder, so its next save works.
          await mirror.request({ op: 'unload' });
          let t = performance.now();
          await mirror.request({ op: 'load', params: loadParams });
          let r = await mirror.request({ op: 'chat', messages, maxTokens: maxAnswerTokens, stopAfterChunks: 1 });
          rec.direct.lightNoState = performance.now() - t - (r.totalMs - (r.firstChunkMs ?? r.totalMs));
          await mirror.request({ op: 'unload' });
          t = performance.now();
          await mirror.request({ op: 'load', params: withState });
          const restored = await mirror.request({ op: 'restoreState', kind: 'chat' });
          rec.direct.stateLoadMs = restored.ms;
          r = await mirror.request({ op: 'chat', messages, maxTokens: maxAnswerTokens, stopAfterChunks: 1 });
          rec.direct.lightWithState = performance.now() - t - (r.totalMs - (r.firstChunkMs ?? r.totalMs));
        } else {
          for (const restore of [false, true]) {
            const fresh = new DirectEngine();
            try {
              await fresh.request({ op: 'load', params: restore ? withState : loadParams });
              if (restore) await fresh.request({ op: 'restoreState', kind: 'chat' });
              const r = await fresh.request({ op: 'chat', messages, maxTokens: maxAnswerTokens, stopAfterChunks: 1 });
              const ms = performance.now() - fresh.spawnedAt - (r.totalMs - (r.firstChunkMs ?? r.totalMs));
              if (restore) rec.direct.deepWithState = ms;
              else rec.direct.deepNoState = ms;
            } finally {
              await fresh.stop();
            }
          }
          // Keep the mirror's conversation in step with the server's.
          await mirror.request({ op: 'chat', messages, maxTokens: maxAnswerTokens, stopAfterChunks: 1 });
        }
      }
      results.push(rec);
      process.stdout.write(
        `  rep ${rep + 1}: server ${JSON.stringify(rec.server, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}\n`,
      );
    }
  } finally {
    await mirror.stop();
    await own.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }

  const m = (f: (r: Rep) => number | null): number => median(results.map((r) => f(r) ?? Number.NaN));
  const rows: (string | number | null)[][] = [
    ['awake (no sleep)', m((r) => r.server.awake), m((r) => r.direct.awake), null],
    ['after light sleep', m((r) => r.server.light), m((r) => r.direct.lightNoState), m((r) => r.direct.lightWithState)],
    ['after deep sleep', m((r) => r.server.deep), m((r) => r.direct.deepNoState), m((r) => r.direct.deepWithState)],
  ];
  printTable(
    `Chat follow-up, time to first token in ms (median of ${reps}); ${ctx.model.kind}, context ${contextSize}, ${threads} thread(s); wake included`,
    ['follow-up', 'LSP server (state saved across sleep)', 'direct, no state', 'direct, state restored'],
    rows,
  );
  process.stdout.write(
    `The server saves the sequences' state before it sleeps and restores it at the wake, so its follow-up reads only what the saved state lacks (conversation ~${results[0]?.historyTokensApprox ?? 0} characters). ` +
      `Direct: state file ${Math.round((results[0]?.direct.stateBytes ?? 0) / 1024)} KiB, restored in ${round(
        m((r) => r.direct.stateLoadMs),
        1,
      )} ms.\n`,
  );
  const firstMs = m((r) => r.firstQuestion.firstChunkMs);
  const piecesPerSecond = m((r) => r.firstQuestion.piecesPerSecond);
  const promptTokens = m((r) => r.firstQuestion.promptTokens);
  const lastState = (mode: SleepMode): SavedState | null => results.at(-1)?.savedState[mode] ?? null;
  process.stdout.write(
    `First question (with the selection, ${promptTokens} prompt tokens): first token ${Math.round(firstMs)} ms, ` +
      `then ${round(piecesPerSecond, 1)} streamed pieces (about tokens) a second over ${firstAnswerChunks} (median of ${reps}). ` +
      `Chat state saved by the server: light sleep ${describeState(lastState('light'))}, deep sleep ${describeState(lastState('deep'))} (last repetition).\n`,
  );
  const file = writeResult('chatAcrossSleep', header, {
    model: { path: ctx.model.path, kind: ctx.model.kind },
    settings: { contextSize, threads, gpu, firstAnswerChunks },
    serverSavesSequenceState: true,
    note:
      'Times to the first streamed token of a follow-up, measured at the client, including the wake. Direct "state restored" restores the conversation state that the engine state store saved before the sleep (saveStates, then restoreSaved after the load, its record checked). ' +
      `firstQuestion: the conversation's first question with the editor selection, awake, its answer stopped after ${firstAnswerChunks} streamed pieces; piecesPerSecond: pieces a second from the first to the last (a piece per generated token, fewer where a token ends inside a character; a stopped answer leaves no lastChat figures); promptTokens: the server's count (lastChatPrompt). ` +
      "savedState: the chat state file the server's model host wrote at that sleep.",
    firstQuestion: {
      firstChunkMsMedian: round(firstMs),
      piecesPerSecondMedian: round(piecesPerSecond),
      promptTokensMedian: promptTokens,
    },
    repetitions: results.map((r) => ({
      historyChars: r.historyTokensApprox,
      firstQuestion: {
        firstChunkMs: r.firstQuestion.firstChunkMs === null ? null : round(r.firstQuestion.firstChunkMs),
        piecesPerSecond: r.firstQuestion.piecesPerSecond === null ? null : round(r.firstQuestion.piecesPerSecond),
        promptTokens: r.firstQuestion.promptTokens,
      },
      savedState: r.savedState,
      server: Object.fromEntries(Object.entries(r.server).map(([k, v]) => [k, v === null ? null : round(v)])),
      direct: Object.fromEntries(Object.entries(r.direct).map(([k, v]) => [k, v === null ? null : round(v)])),
    })),
    medians: {
      server: { awake: round(m((r) => r.server.awake)), light: round(m((r) => r.server.light)), deep: round(m((r) => r.server.deep)) },
      direct: {
        awake: round(m((r) => r.direct.awake)),
        lightNoState: round(m((r) => r.direct.lightNoState)),
        lightWithState: round(m((r) => r.direct.lightWithState)),
        deepNoState: round(m((r) => r.direct.deepNoState)),
        deepWithState: round(m((r) => r.direct.deepWithState)),
      },
    },
  });
  const fmt = (x: number): string => `${(x / 1000).toFixed(2)} s`;
  return {
    name: 'chatAcrossSleep',
    file,
    verdicts: [
      {
        figure: 'Chat follow-up TTFT after deep sleep (state saved)',
        value: `${fmt(m((r) => r.server.deep))} vs direct ${fmt(m((r) => r.direct.deepNoState))}; direct with state ${fmt(m((r) => r.direct.deepWithState))}`,
        target: '-',
        met: null,
      },
      {
        figure: 'Chat follow-up TTFT after light sleep (state saved)',
        value: `${fmt(m((r) => r.server.light))} vs direct ${fmt(m((r) => r.direct.lightNoState))}; direct with state ${fmt(m((r) => r.direct.lightWithState))}`,
        target: '-',
        met: null,
      },
      {
        figure: 'Chat follow-up TTFT, awake',
        value: `${fmt(m((r) => r.server.awake))} vs direct ${fmt(m((r) => r.direct.awake))}`,
        target: '-',
        met: null,
      },
      {
        figure: 'Chat first question: first token, then streamed pieces (about tokens) a second',
        value: `${fmt(firstMs)} (${promptTokens} prompt tokens), ${round(piecesPerSecond, 1)} a second`,
        target: '-',
        met: null,
      },
      {
        figure: 'Chat state file, saved at a light / deep sleep',
        value: `${describeState(lastState('light'))} / ${describeState(lastState('deep'))}`,
        target: '-',
        met: null,
      },
    ],
  };
}
