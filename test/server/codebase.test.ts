// Chat on the code over real LSP with the generated model: the workspace index (built without
// waking the model, kept across a restart without reading the files again, kept current from file
// events), and a turn's mentions, @codebase chunks and excluded files as localLlm/lastChatPrompt
// shows them. Asserts what went into the prompt and counts; never the model's text or timings.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  DidChangeWatchedFilesNotification,
  DidChangeWorkspaceFoldersNotification,
  FileChangeType,
} from 'vscode-languageserver-protocol/node';
import {
  ChatRequest,
  ChatResetRequest,
  ChatRestoreRequest,
  LastChatPromptRequest,
  type ChatChunk,
  type ChatParams,
  type ChatResult,
  type LastChatPrompt,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

const secret = 'SUPER_SECRET_TOKEN_9f3a';

/** A small project: code to find, a secret, what git ignores, a dependency, a binary, a huge file. */
function makeWorkspace(dir: string): void {
  const write = (rel: string, text: string | Buffer): void => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  write(
    'src/sequence.ts',
    [
      '/** The first n numbers of the Fibonacci sequence, each the sum of the two before it. */',
      'export function fibonacciSequence(n: number): number[] {',
      '  const out = [0, 1];',
      '  while (out.length < n) out.push(out[out.length - 1] + out[out.length - 2]);',
      '  return out.slice(0, n);',
      '}',
      '',
    ].join('\n'),
  );
  write('src/strings.ts', 'export function shout(s: string): string {\n  return s.toUpperCase() + "!";\n}\n');
  write('README.md', '# Demo\n\nA demo project for the index.\n');
  write('.env', `API_KEY=${secret}\n`);
  write('.gitignore', 'build/\n');
  write('build/out.js', 'function fibonacciSequence() { /* built output, ignored */ }\n');
  // A .gitignore below the root applies to its own folder.
  write('src/.gitignore', 'generated/\n');
  write('src/generated/fib.ts', 'export function fibonacciSequence() { /* generated, ignored */ }\n');
  write('node_modules/dep/index.js', 'module.exports = function fibonacciSequence() {};\n');
  write('assets/blob.dat2', Buffer.from([0x66, 0x69, 0x62, 0x00, 0x01, 0x02]));
  write('data/huge.txt', 'fibonacci '.repeat(120_000));
}

function settings(model: string): Record<string, unknown> {
  return { model, contextSize: 2048, threads: 1, sleepIdleSeconds: 0, loadOnStartup: false };
}

/** One chat turn, cancelled at its first streamed piece (the prompt is made by then; the answer is noise). */
async function turn(server: TestServer, params: Omit<ChatParams, 'partialResultToken'>): Promise<ChatResult> {
  const partialResultToken = `chat-${Math.random()}`;
  const source = new CancellationTokenSource();
  const chunks: ChatChunk[] = [];
  server.connection.onProgress(ChatRequest.type, partialResultToken, (chunk) => {
    chunks.push(chunk);
    source.cancel();
  });
  return server.connection.sendRequest(ChatRequest.type, { ...params, partialResultToken }, source.token);
}

const indexReady = (s: ModelStatus): boolean => s.index?.state === 'ready';

/** The first status from now on whose index is ready with `files` files. */
function waitForIndex(server: TestServer, files: number): Promise<ModelStatus> {
  const from = server.statuses.length;
  return server.waitFor(
    (s) => server.statuses.indexOf(s) >= from && indexReady(s) && s.index?.files === files,
    `an index of ${files} files`,
  );
}

/** The "Workspace index ready: …; N files read, M unchanged." log lines. */
function readyLines(server: TestServer): Array<{ files: number; read: number }> {
  return server.logs.flatMap((l) => {
    const m = /Workspace index ready: (\d+) files, \d+ chunks; (\d+) files? read/.exec(l);
    return m ? [{ files: Number(m[1]), read: Number(m[2]) }] : [];
  });
}

async function waitForLog(server: TestServer, test: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(test(), `${what}; the server said:\n${server.logs.join('')}`);
}

let tiny: string;
let workspace: string;
let storageDir: string;

before(async () => {
  tiny = await tinyModel();
  workspace = mkdtempSync(path.join(os.tmpdir(), 'local-llm-ws-'));
  storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-storage-'));
  makeWorkspace(workspace);
});

after(() => {
  rmSync(workspace, { recursive: true, force: true });
  rmSync(storageDir, { recursive: true, force: true });
});

describe('the workspace index and chat on the code', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(settings(tiny), { storageDir, workspaceFolders: [workspace] });
  });
  after(() => server.stop());

  it('indexes the workspace in the background without waking the sleeping model', async () => {
    const ready = await server.waitFor(indexReady, 'the index to be ready', 120_000);
    // Sent while it built: the status said it was indexing.
    assert.ok(
      server.statuses.some((s) => s.index?.state === 'indexing'),
      'an "indexing" status was sent',
    );
    // The code, the README and the two .gitignore files; not the secret, what git ignores, node_modules, the binary or the huge file.
    assert.equal(ready.index?.files, 5, JSON.stringify(ready.index));
    const status = await server.status();
    assert.equal(status.state, 'sleeping');
    assert.equal(status.counters.loads, 0);
    assert.equal(status.counters.wakes, 0);
    // The binary was read once (to find its NUL byte) and is remembered, so it is not read again.
    assert.deepEqual(readyLines(server), [{ files: 5, read: 6 }]);
  });

  it('puts @file, @problems and @codebase parts in the prompt, and never an excluded file', async () => {
    const uri = (rel: string): string => pathToFileURL(path.join(workspace, rel)).href;
    const result = await turn(server, {
      sessionId: 'code',
      message: 'How is the fibonacci sequence computed here?',
      codebase: true,
      parts: [
        {
          kind: 'file',
          label: 'src/strings.ts',
          source: { uri: uri('src/strings.ts') },
          text: 'export function shout(s: string): string {}',
        },
        { kind: 'problems', label: 'Problems in src/strings.ts', source: { uri: uri('src/strings.ts') }, text: "2:3 error: Missing ';'" },
        { kind: 'file', label: '.env', source: { uri: uri('.env') }, text: `API_KEY=${secret}` },
      ],
    });
    const prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    assert.ok(prompt, 'a last chat prompt');
    const mentions = prompt.parts.filter((p) => p.kind === 'mention');
    assert.deepEqual(
      mentions.map((p) => [p.label, p.fit]),
      [
        ['@file src/strings.ts', 'whole'],
        ['@problems Problems in src/strings.ts', 'whole'],
      ],
    );
    assert.match(mentions[1].text, /Missing ';'/);
    const retrieved = prompt.parts.filter((p) => p.kind === 'retrieved');
    assert.ok(retrieved.length > 0, 'something was retrieved');
    assert.match(retrieved[0].label, /^src\/sequence\.ts:1-\d+$/);
    assert.match(retrieved[0].text, /export function fibonacciSequence/);
    assert.equal(prompt.parts[prompt.parts.length - 1].kind, 'question');
    // The secret is in no part, under no label, and the ignored, vendored and huge files were never indexed.
    for (const p of prompt.parts) {
      assert.ok(!p.text.includes(secret) && !p.label.includes('.env'), `part ${p.label}`);
      assert.ok(!/build\/|generated\/|node_modules|huge\.txt/.test(p.label), `part ${p.label}`);
    }
    assert.equal(prompt.budgetTokens, 2048);
    assert.ok(prompt.parts.every((p) => p.tokens > 0));
    assert.ok(result.notes?.includes('.env left out: it matches localLlm.context.exclude'), JSON.stringify(result.notes));
    assert.deepEqual(result.included?.map((i) => [i.kind, i.label, i.fit]).slice(0, 3), [
      ['file', 'src/strings.ts', 'whole'],
      ['problems', 'Problems in src/strings.ts', 'whole'],
      ['file', '.env', 'dropped'],
    ]);
    assert.ok(result.included?.some((i) => i.kind === 'codebase' && i.label.startsWith('src/sequence.ts')));
  });

  it('takes a restored chat as the session history, and says what did not fit', async () => {
    const long = 'an old question about something else entirely '.repeat(30);
    await server.connection.sendRequest(ChatRestoreRequest.type, {
      sessionId: 'kept',
      turns: [
        { user: long, assistant: 'an old answer' },
        { user: long, assistant: 'another old answer' },
        { user: 'What was the last thing?', assistant: 'This.' },
      ],
    });
    const result = await turn(server, { sessionId: 'kept', message: 'And now?' });
    const prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    const history = prompt.parts.filter((p) => p.kind === 'history');
    assert.deepEqual(
      history.map((p) => [p.label, p.fit]),
      [
        ['Earlier turn 1', 'dropped'],
        ['Earlier question 2', 'whole'],
        ['Earlier answer 2', 'whole'],
        ['Earlier question 3', 'whole'],
        ['Earlier answer 3', 'whole'],
      ],
    );
    assert.deepEqual(result.notes, ['1 older turn left out']);
    await assert.rejects(
      server.connection.sendRequest(ChatRestoreRequest.method, { sessionId: 'kept', turns: [{ user: 1 }] }),
      /turn 1 needs/,
    );
    await server.connection.sendRequest(ChatResetRequest.type, { sessionId: 'kept' });
  });

  it('refuses malformed mentions in a sentence', async () => {
    await assert.rejects(
      server.connection.sendRequest(ChatRequest.method, { sessionId: 's', message: 'hi', parts: [{ kind: 'url', label: 'x', text: 'y' }] }),
      /mention 1 has kind "url"/,
    );
  });

  it('follows file events: a new file is found, a deleted one is gone', async () => {
    const file = path.join(workspace, 'src', 'zebra.ts');
    writeFileSync(file, 'export const zebraStripeCount = 42;\n');
    const added = waitForIndex(server, 6);
    await server.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: pathToFileURL(file).href, type: FileChangeType.Created }],
    });
    await added;
    await turn(server, { sessionId: 'z', message: 'zebra stripe count', codebase: true });
    let prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    assert.ok(prompt.parts.some((p) => p.kind === 'retrieved' && p.label.startsWith('src/zebra.ts')));
    rmSync(file);
    const removed = waitForIndex(server, 5);
    await server.connection.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: pathToFileURL(file).href, type: FileChangeType.Deleted }],
    });
    await removed;
    await turn(server, { sessionId: 'z', message: 'zebra stripe count', codebase: true });
    prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    assert.ok(!prompt.parts.some((p) => p.kind === 'retrieved' && p.label.startsWith('src/zebra.ts')));
    assert.ok(prompt.notes.includes('@codebase found nothing in the workspace that matches the question'), prompt.notes.join('\n'));
  });
});

describe('the saved index', () => {
  it('survives a restart: unchanged files are not read again, a changed one is', async () => {
    let server = await startServer(settings(tiny), { storageDir, workspaceFolders: [workspace] });
    try {
      await server.waitFor(indexReady, 'the index to be ready', 120_000);
      await waitForLog(server, () => readyLines(server).length === 1, 'a ready line');
      assert.deepEqual(readyLines(server), [{ files: 5, read: 0 }]);
      assert.ok(server.logs.some((l) => /5 files and \d+ chunks read back from the saved index/.test(l)));
      assert.equal((await server.status()).counters.loads, 0);
    } finally {
      await server.stop();
    }
    writeFileSync(
      path.join(workspace, 'src', 'strings.ts'),
      'export function whisper(s: string): string {\n  return s.toLowerCase();\n}\n',
    );
    server = await startServer(settings(tiny), { storageDir, workspaceFolders: [workspace] });
    try {
      await server.waitFor(indexReady, 'the index to be ready', 120_000);
      await waitForLog(server, () => readyLines(server).length === 1, 'a ready line');
      assert.deepEqual(readyLines(server), [{ files: 5, read: 1 }]);
    } finally {
      await server.stop();
    }
  });
});

describe('workspace folders added and removed while running', () => {
  const folders: string[] = [];
  let server: TestServer;
  const folder = (prefix: string, rel: string, text: string): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
    folders.push(dir);
    return dir;
  };
  const changeFolders = (added: string[], removed: string[]): Promise<void> =>
    server.connection.sendNotification(DidChangeWorkspaceFoldersNotification.type, {
      event: {
        added: added.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })),
        removed: removed.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })),
      },
    });
  /** "src/a.ts:1-1" -> "src/a.ts". */
  const onlyFile = (labels: string[]): string[] => labels.map((l) => l.replace(/:\d+-\d+$/, ''));
  const retrievedLabels = async (question: string): Promise<string[]> => {
    await turn(server, { sessionId: 'folders', message: question, codebase: true });
    const prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    return prompt.parts.filter((p) => p.kind === 'retrieved').map((p) => p.label);
  };

  after(async () => {
    await server?.stop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  it('indexes an added folder, drops a removed one, and starts an index for a server opened without folders', async () => {
    const alpha = folder('local-llm-alpha-', 'src/alpha.ts', 'export const alphaAardvarkStripes = 1;\n');
    const beta = folder('local-llm-beta-', 'lib/beta.ts', 'export const betaBadgerWhiskers = 2;\n');
    const folderStorage = folder('local-llm-storage-folders-', 'keep', '');
    // No folder at start: no index, and @codebase says why.
    server = await startServer(settings(tiny), { storageDir: folderStorage });
    assert.equal((await server.status()).index ?? null, null);
    // Malformed changes are ignored with a sentence in the log, and nothing breaks.
    await server.connection.sendNotification(DidChangeWorkspaceFoldersNotification.method, {});
    await server.connection.sendNotification(DidChangeWorkspaceFoldersNotification.method, {
      event: { added: 'x', removed: [{ uri: 7 }] },
    });
    await waitForLog(server, () => server.logs.some((l) => l.includes('without an event')), 'the malformed change logged');
    assert.equal((await server.status()).index ?? null, null);

    const alphaReady = waitForIndex(server, 1);
    await changeFolders([alpha], []);
    await alphaReady;
    // Indexing never woke the model.
    const asleep = await server.status();
    assert.equal(asleep.state, 'sleeping');
    assert.equal(asleep.counters.loads, 0);
    assert.deepEqual(onlyFile(await retrievedLabels('aardvark stripes')), ['src/alpha.ts']);

    // A second folder: its files join, and with two folders each label starts with its folder's name.
    const bothReady = waitForIndex(server, 2);
    await changeFolders([beta], []);
    await bothReady;
    assert.deepEqual(onlyFile(await retrievedLabels('badger whiskers')), [`${path.basename(beta)}/lib/beta.ts`]);
    assert.deepEqual(onlyFile(await retrievedLabels('aardvark stripes')), [`${path.basename(alpha)}/src/alpha.ts`]);

    // The first folder removed: its file leaves the index, the other stays.
    const betaOnly = waitForIndex(server, 1);
    await changeFolders([], [alpha]);
    await betaOnly;
    assert.deepEqual(await retrievedLabels('aardvark stripes'), []);
    assert.deepEqual(onlyFile(await retrievedLabels('badger whiskers')), ['lib/beta.ts']);

    // The last folder removed: no index, and @codebase says there is no folder.
    const none = server.statuses.length;
    await changeFolders([], [beta]);
    await server.waitFor((s) => server.statuses.indexOf(s) >= none && s.index === null, 'no index');
    await turn(server, { sessionId: 'folders', message: 'badger whiskers', codebase: true });
    const prompt = (await server.connection.sendRequest(LastChatPromptRequest.type)) as LastChatPrompt;
    assert.ok(!prompt.parts.some((p) => p.kind === 'retrieved'));
    assert.ok(
      prompt.notes.some((n) => n.startsWith('@codebase needs a workspace folder')),
      prompt.notes.join('\n'),
    );
  });
});
