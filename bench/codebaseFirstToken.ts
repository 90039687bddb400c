// 13. Chat with @codebase: the time from sending a question to its first streamed token with
// @codebase against the same question without it, side by side on one server (large model, one
// thread, context 4096), on a workspace of a few hundred files: a snapshot of this repository's
// tracked files. Pairs alternate A B / B A, each turn in a session of its own. Where the ratio is
// over its target the run says why: how long the index search took (the server's log line), how
// many prompt tokens the retrieved chunks added (their text as localLlm/lastChatPrompt shows it,
// counted by the model's own tokenizer: a turn stopped at its first token reports no figures of
// its own), and what each of those tokens cost. A third arm asks the @codebase question after its
// draft was read ahead (localLlm/chatPrefill, as the panel does while the user pauses before Send):
// its first token against the same two, and how long the read-ahead took (the pause it needs).
//   npm run build && node --import tsx bench/run.ts codebaseFirstToken
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import {
  ChatPrefillRequest,
  ChatRequest,
  LastChatPromptRequest,
  type ChatPrefillResult,
  type LastChatPrompt,
  type TokenFigures,
} from '../server/src/shared/protocol';
import type { LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { serverSettings, threads } from './lib/config';
import { count, type BenchContext, type BenchOutcome } from './lib/context';
import { startServer, type TestServer } from './lib/lsp';
import { loadAverage, resultHeader, writeResult } from './lib/results';
import { median, round } from './lib/stats';
import { printTable } from './lib/table';

const repoRoot = path.resolve(__dirname, '..');
const contextSize = 4096;
const target = 1.3;

/** Questions a user might ask about this code base; each pair asks one of them both ways. */
const questions = [
  'How does the resume gate make requests wait while the model wakes up?',
  'Where is the context ring trimmed when it goes over its token budget?',
  'How does the workspace index skip the files that git ignores?',
  'What happens to a chat turn whose mentions do not fit the context?',
  'How is a code fragment matched to a region of the file for Apply?',
  'How does the model host decide which window goes first?',
];

/** How a pair's question is asked: with @codebase, without, or with @codebase after its draft was read ahead. */
type Arm = 'with' | 'without' | 'ahead';
const arms: readonly Arm[] = ['with', 'without', 'ahead'];

interface Turn {
  codebase: boolean;
  /** The read-ahead of the draft before the send: its ms and figures; null for the other arms. */
  readAhead: { ms: number; result: ChatPrefillResult } | null;
  question: string;
  /** Sent to first streamed piece, at the client. */
  firstTokenMs: number;
  /** The index search, from the server's log; null without @codebase. */
  queryMs: number | null;
  retrievedChunks: number;
  /** The retrieved chunks that went into the prompt, in the server's estimate (UTF-8 bytes / 3). */
  retrievedEstimatedTokens: number;
  /** Their text as sent, counted afterwards by the model's tokenizer. */
  retrievedText: string;
  retrievedTokens: number | null;
  /** The host's figures when it answered before the cancellation did (often not: then null). */
  figures: TokenFigures | null;
}

/** The tracked files of this repository (not benchmark results or images), copied so the run measures one fixed tree. */
function snapshotWorkspace(): { dir: string; files: number } {
  let listed: string;
  try {
    listed = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new Error('This benchmark copies the repository’s tracked files as its workspace, and git could not list them.');
  }
  const files = listed.split('\n').filter((f) => f !== '' && !f.startsWith('bench/results/') && !/\.(png|jpg|gif|ico|vsix)$/i.test(f));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-codebase-ws-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(repoRoot, file), path.join(dir, file));
  }
  return { dir, files: files.length };
}

/** The newest "@codebase: N chunks in X ms." line after `from`. */
function queryMsSince(server: TestServer, from: number): number | null {
  for (let i = server.logs.length - 1; i >= from; i--) {
    const m = /@codebase: \d+ chunks? in ([\d.]+) ms\./.exec(server.logs[i]);
    if (m) return Number(m[1]);
  }
  return null;
}

/** One turn, stopped (as the Stop button does) at its first streamed piece; the ms to that piece. */
async function firstToken(server: TestServer, sessionId: string, message: string, codebase: boolean): Promise<number | null> {
  const partialResultToken = `bench-${sessionId}`;
  const cancel = new CancellationTokenSource();
  const started = performance.now();
  let firstMs: number | null = null;
  const subscription = server.connection.onProgress(ChatRequest.type, partialResultToken, (chunk) => {
    if (chunk.text === '' || firstMs !== null) return;
    firstMs = performance.now() - started;
    cancel.cancel();
  });
  try {
    await server.connection.sendRequest(ChatRequest.type, { sessionId, message, codebase, partialResultToken }, cancel.token);
    return firstMs;
  } finally {
    subscription.dispose();
    cancel.dispose();
  }
}

async function askOnce(server: TestServer, question: string, codebase: boolean, sessionId: string, readFirst = false): Promise<Turn> {
  let readAhead: Turn['readAhead'] = null;
  if (readFirst) {
    const started = performance.now();
    const result = await server.connection.sendRequest(ChatPrefillRequest.type, { sessionId, message: question, codebase });
    if (result.skipped) throw new Error(`The draft was not read ahead: ${result.skipped}`);
    readAhead = { ms: performance.now() - started, result };
  }
  const logsFrom = server.logs.length;
  const firstTokenMs = await firstToken(server, sessionId, question, codebase);
  if (firstTokenMs === null) throw new Error(`No token streamed for "${question}".`);
  const prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt | null;
  if (!prompt || prompt.sessionId !== sessionId) throw new Error('The server kept no prompt for the turn just asked.');
  const retrieved = prompt.parts.filter((p) => p.kind === 'retrieved' && p.fit !== 'dropped');
  const queryMs = codebase ? queryMsSince(server, logsFrom) : null;
  if (codebase && queryMs === null) throw new Error('The server did not log how long the @codebase search took.');
  return {
    codebase,
    readAhead,
    question,
    firstTokenMs,
    queryMs,
    retrievedChunks: retrieved.length,
    retrievedEstimatedTokens: retrieved.reduce((n, p) => n + p.tokens, 0),
    retrievedText: retrieved.map((p) => p.text).join('\n\n'),
    retrievedTokens: null,
    figures: prompt.figures && prompt.figures.promptTokens > 0 ? prompt.figures : null,
  };
}

/** Counts tokens with the model's own vocabulary (loaded alone, no weights), after the server has stopped. */
async function countTokens(modelPath: string, texts: readonly string[]): Promise<number[]> {
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never' });
  let model: LlamaModel | null = null;
  try {
    model = await llama.loadModel({ modelPath, vocabOnly: true });
    const loaded = model;
    return texts.map((t) => (t === '' ? 0 : loaded.tokenize(t, false, 'trimLeadingSpace').length));
  } finally {
    await model?.dispose();
    await llama.dispose();
  }
}

export async function runCodebaseFirstToken(ctx: BenchContext): Promise<BenchOutcome> {
  const header = resultHeader('codebaseFirstToken', loadAverage());
  const pairs = count(ctx, questions.length, 1);
  const workspace = snapshotWorkspace();
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'bench-codebase-storage-'));
  const server = await startServer(serverSettings(ctx.largeModel, { contextSize }), { storageDir, workspaceFolders: [workspace.dir] });
  const turns: Array<Record<Arm, Turn>> = [];
  let indexed: number;
  try {
    await server.waitForState('ready', 180_000);
    const ready = await server.waitFor((s) => s.index?.state === 'ready', 'the workspace index', 600_000);
    indexed = ready.index?.files ?? 0;
    // Warm-up, both ways, not counted: the first chat turn of a load and the first search of the files.
    await askOnce(server, 'What does this project do?', false, 'warm-without');
    await askOnce(server, 'What does this project do?', true, 'warm-with');
    for (let i = 0; i < pairs; i++) {
      const question = questions[i % questions.length];
      const order = i % 2 === 0 ? arms : [...arms].reverse();
      const pair: Partial<Record<Arm, Turn>> = {};
      for (const arm of order) pair[arm] = await askOnce(server, question, arm !== 'without', `pair-${i}-${arm}`, arm === 'ahead');
      const set = pair as Record<Arm, Turn>;
      turns.push(set);
      process.stdout.write(
        `  pair ${i + 1}: with ${Math.round(set.with.firstTokenMs)} ms (${set.with.retrievedChunks} chunks, search ${round(set.with.queryMs ?? 0, 1)} ms), ` +
          `without ${Math.round(set.without.firstTokenMs)} ms, read ahead ${Math.round(set.ahead.firstTokenMs)} ms ` +
          `(after a read-ahead of ${Math.round(set.ahead.readAhead?.ms ?? 0)} ms, ${set.ahead.readAhead?.result.evaluatedTokens} tokens)\n`,
      );
    }
  } finally {
    await server.stop();
    rmSync(storageDir, { recursive: true, force: true });
    rmSync(workspace.dir, { recursive: true, force: true });
  }
  const counted = await countTokens(
    ctx.largeModel,
    turns.map((p) => p.with.retrievedText),
  );
  turns.forEach((p, i) => (p.with.retrievedTokens = counted[i]));

  const m = (f: (p: Record<Arm, Turn>) => number): number => median(turns.map(f));
  const withMs = m((p) => p.with.firstTokenMs);
  const withoutMs = m((p) => p.without.firstTokenMs);
  const ratio = withMs / withoutMs;
  const aheadMs = m((p) => p.ahead.firstTokenMs);
  const aheadRatio = aheadMs / withoutMs;
  const readAheadMs = m((p) => p.ahead.readAhead?.ms ?? Number.NaN);
  const readAheadTokens = m((p) => p.ahead.readAhead?.result.evaluatedTokens ?? Number.NaN);
  const queryMs = m((p) => p.with.queryMs ?? 0);
  const extraTokens = m((p) => p.with.retrievedTokens ?? Number.NaN);
  const extraMs = m((p) => p.with.firstTokenMs - p.without.firstTokenMs);
  // What is left of the extra time once the search is taken out, per token the chunks added.
  const msPerExtraToken = m(
    (p) => (p.with.firstTokenMs - p.without.firstTokenMs - (p.with.queryMs ?? 0)) / (p.with.retrievedTokens ?? Number.NaN),
  );
  const estimatedRetrieved = m((p) => p.with.retrievedEstimatedTokens);
  const chunks = m((p) => p.with.retrievedChunks);
  // How many extra prompt tokens the target leaves room for, at the measured cost per token.
  const tokensWithinTarget = Math.max(0, ((target - 1) * withoutMs - queryMs) / msPerExtraToken);

  printTable(
    `Chat, time to first token with and without @codebase (median of ${turns.length} pairs, A B / B A); large model, context ${contextSize}, ${threads} thread(s); ${indexed} files indexed`,
    ['', 'with @codebase', 'without', 'difference'],
    [
      ['time to first token (ms)', Math.round(withMs), Math.round(withoutMs), `+${Math.round(extraMs)} (${round(ratio, 2)}x)`],
      [
        'time to first token, the draft read ahead (ms)',
        Math.round(aheadMs),
        Math.round(withoutMs),
        `${round(aheadRatio, 2)}x, after a read-ahead of ${Math.round(readAheadMs)} ms (${readAheadTokens} tokens)`,
      ],
      ["retrieved chunks' prompt tokens (model tokenizer)", extraTokens, 0, `+${extraTokens}`],
      ['index search (ms)', round(queryMs, 1), '-', '-'],
      ['retrieved chunks in the prompt (server estimate, tokens)', `${chunks} (${estimatedRetrieved})`, '-', '-'],
    ],
  );
  process.stdout.write(
    `The extra time is the search (${round(queryMs, 1)} ms) and the retrieved chunks' prompt tokens, ${round(msPerExtraToken, 2)} ms each on this machine; ` +
      `${target}x leaves room for about ${Math.round(tokensWithinTarget)} extra tokens. ` +
      `(The test model's vocabulary is about one token per character; a coder model's BPE takes 3.5 to 4.5 bytes per token, so the same chunks would be about a quarter of the tokens.)\n`,
  );
  const file = writeResult('codebaseFirstToken', header, {
    model: { path: ctx.largeModel, kind: 'large random (8 layers x 1024, F16), about one token per character' },
    settings: { contextSize, threads, pairs: turns.length },
    workspace: { trackedFilesCopied: workspace.files, indexedFiles: indexed },
    note: 'Each turn is a new session (no history); the first streamed piece ends the turn (cancelled, as Stop does). queryMs is the server log line "@codebase: N chunks in X ms"; retrievedTokens counts the retrieved parts\' text from localLlm/lastChatPrompt with the model\'s tokenizer (a cancelled turn usually reports no host figures).',
    turns: turns.map((p) => ({
      question: p.with.question,
      with: { ...p.with, retrievedText: undefined, firstTokenMs: round(p.with.firstTokenMs) },
      without: { ...p.without, retrievedText: undefined, firstTokenMs: round(p.without.firstTokenMs) },
      readAhead: { ...p.ahead, retrievedText: undefined, firstTokenMs: round(p.ahead.firstTokenMs) },
    })),
    medians: {
      withMs: round(withMs),
      withoutMs: round(withoutMs),
      ratio: round(ratio, 3),
      readAheadFirstTokenMs: round(aheadMs),
      readAheadRatio: round(aheadRatio, 3),
      readAheadMs: round(readAheadMs),
      readAheadEvaluatedTokens: readAheadTokens,
      queryMs: round(queryMs, 2),
      extraTokens,
      msPerExtraToken: round(msPerExtraToken, 3),
      retrievedEstimatedTokens: estimatedRetrieved,
      tokensWithinTarget: Math.round(tokensWithinTarget),
    },
  });
  const s = (x: number): string => `${(x / 1000).toFixed(2)} s`;
  return {
    name: 'codebaseFirstToken',
    file,
    verdicts: [
      {
        figure: 'Chat first token, with @codebase vs without',
        value: `${s(withMs)} vs ${s(withoutMs)} = ${round(ratio, 2)}x (search ${round(queryMs, 1)} ms, +${extraTokens} prompt tokens at ${round(msPerExtraToken, 2)} ms)`,
        target: `<= ${target}x`,
        met: ratio <= target,
      },
      {
        figure: 'Chat first token, with @codebase read ahead while the user paused vs without',
        value: `${s(aheadMs)} vs ${s(withoutMs)} = ${round(aheadRatio, 2)}x (the read-ahead took ${s(readAheadMs)}: the pause it needs)`,
        target: `<= ${target}x`,
        met: aheadRatio <= target,
      },
    ],
  };
}
