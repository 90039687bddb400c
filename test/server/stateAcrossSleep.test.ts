// State across sleep (DESIGN.md, "Never evaluate a token twice"), counted over real LSP with the
// generated model: before a light or deep sleep the host saves the completion and chat sequences'
// state to <storageDir>/state, and after the wake the first chat follow-up and the first
// completion at the same cursor evaluate only their new tokens. A state file that does not match
// (another model file, a truncated file, another context size) is refused, logged and deleted; a
// full disk during the save costs the reuse, never the sleep. With localLlm.stateCacheMB 0 (no
// state kept) the same follow-up evaluates the whole history: that is what each test tells apart.
// Asserts counts, never timings or text.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { InlineCompletionRequest } from 'vscode-languageserver-protocol/node';
import { ChatRequest, SleepRequest, type ChatResult, type ModelStatus, type TokenFigures } from '../../server/src/shared/protocol';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

/** Prompt tokens a request may evaluate beyond what changed: template or FIM control tokens, a re-split token at the seam, the one token always decoded. */
const slack = 8;
const uri = 'file:///work/state.ts';
const question = 'Write a function that adds two numbers';
const followUp = 'And a test';

function codeText(lineCount: number, cursorLine: string): { text: string; line: number } {
  const lines = Array.from({ length: lineCount }, (_, i) => `  const value${i} = compute(a * ${i % 13}, b + ${i % 7});`);
  const line = Math.floor(lineCount / 2);
  lines.splice(line, 0, cursorLine);
  return { text: lines.join('\n'), line };
}

let tempRoot: string;
let modelCopy: string;

before(async () => {
  tempRoot = await mkdtemp(path.join(os.tmpdir(), 'local-llm-state-'));
  // A copy of its own: one test changes the file's modification time.
  modelCopy = path.join(tempRoot, 'tiny.gguf');
  await copyFile(await tinyModel(), modelCopy);
});
after(() => rm(tempRoot, { recursive: true, force: true }));

interface Session {
  server: TestServer;
  storageDir: string;
  stateDir: string;
  complete(extra: string): Promise<TokenFigures>;
  chat(message: string): Promise<TokenFigures>;
  sleep(): Promise<ModelStatus>;
  logs(): string;
}

let sessions = 0;

async function start(settings: Record<string, unknown>, storageDir?: string): Promise<Session> {
  const dir = storageDir ?? path.join(tempRoot, `storage-${++sessions}`);
  const server = await startServer(
    {
      model: modelCopy,
      contextSize: 2048,
      threads: 1,
      sleepIdleSeconds: 0,
      completion: { debounceMs: 0, maxTokens: 8, maxLines: 2 },
      ...settings,
    },
    { storageDir: dir },
  );
  await server.waitForState('ready');
  const lineStart = '  let item = ';
  let version = 1;
  const initial = codeText(200, lineStart);
  server.open(uri, initial.text);
  const sessionId = `s${sessions}`;
  return {
    server,
    storageDir: dir,
    stateDir: path.join(dir, 'state'),
    async complete(extra) {
      // A character typed first, so the server's own completion cache never answers.
      const doc = codeText(200, lineStart + extra);
      server.change(uri, ++version, doc.text);
      const generated = (await server.status()).completions.generated;
      await server.connection.sendRequest(InlineCompletionRequest.type, {
        textDocument: { uri },
        position: { line: doc.line, character: lineStart.length + extra.length },
        context: { triggerKind: 2 },
      });
      // A generation ran for this request (an answer of null or [] alone would not say so), so
      // the figures read next are its own, not the previous completion's.
      const status = await server.status();
      assert.equal(status.completions.generated, generated + 1, 'the completion ran a generation');
      const f = status.lastCompletion;
      assert.ok(f);
      return f;
    },
    async chat(message) {
      const result: ChatResult = await server.connection.sendRequest(ChatRequest.type, { sessionId, message });
      assert.ok(['eos', 'maxTokens'].includes(result.stopReason), result.stopReason);
      const f = (await server.status()).lastChat;
      assert.ok(f);
      return f;
    },
    async sleep() {
      const status = await server.connection.sendRequest(SleepRequest.type);
      assert.equal(status.state, 'sleeping');
      return status;
    },
    logs: () => server.logs.join(''),
  };
}

async function stateFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** A chat turn and a completion, then the sleep; returns the figures before the sleep. */
async function beforeSleep(s: Session): Promise<{ firstChat: TokenFigures; firstCompletion: TokenFigures }> {
  const firstCompletion = await s.complete('q');
  const firstChat = await s.chat(question);
  await s.sleep();
  return { firstChat, firstCompletion };
}

let noSleep: Promise<TokenFigures> | null = null;

/**
 * The same follow-up with no sleep between: what it evaluates is the floor, the new message and
 * its template tokens. The generated model's answer is bytes that re-tokenize differently, but the
 * host continues from the chat's exact tokens (#24; chatTokens.test.ts measures that alone).
 */
function followUpWithoutSleep(): Promise<TokenFigures> {
  noSleep ??= (async () => {
    const s = await start({ sleepMode: 'light' });
    try {
      await s.complete('q');
      await s.chat(question);
      return await s.chat(followUp);
    } finally {
      await s.server.stop();
    }
  })();
  return noSleep;
}

for (const sleepMode of ['light', 'deep'] as const) {
  describe(`after a ${sleepMode} sleep`, () => {
    it('a chat follow-up evaluates no more than with no sleep, the first completion at the same cursor only the typed token', async (t) => {
      const s = await start({ sleepMode });
      try {
        const { firstChat, firstCompletion } = await beforeSleep(s);
        const files = await stateFiles(s.stateDir);
        assert.equal(files.filter((f) => f.endsWith('.bin')).length, 2, `state files: ${files.join(' ')}\n${s.logs()}`);
        for (const f of files) assert.equal((await stat(path.join(s.stateDir, f))).mode & 0o777, 0o600, `${f} is private`);
        assert.equal((await stat(s.stateDir)).mode & 0o777, 0o700);
        const sizes = await Promise.all(
          files
            .filter((f) => f.endsWith('.bin'))
            .map(async (f) => `${f.replace(/^.*-/, '')} ${(await stat(path.join(s.stateDir, f))).size} B`),
        );

        const next = await s.chat(followUp);
        const completion = await s.complete('qz');
        const floor = await followUpWithoutSleep();
        t.diagnostic(
          `${sleepMode}: state ${sizes.join(', ')}; first chat ${firstChat.promptTokens} prompt tokens, follow-up ${next.evaluatedTokens} of ${next.promptTokens} evaluated ` +
            `(${floor.evaluatedTokens} of ${floor.promptTokens} with no sleep); ` +
            `completion ${firstCompletion.promptTokens} prompt tokens, after the wake ${completion.evaluatedTokens} of ${completion.promptTokens} evaluated`,
        );
        assert.equal((await s.server.status()).counters.wakes, 1);
        // The follow-up's prompt begins with the first turn's whole prompt and its answer: all in the restored state.
        assert.ok(
          next.reusedTokens >= firstChat.promptTokens - slack,
          `the follow-up reused ${next.reusedTokens} of ${next.promptTokens}; the first turn had ${firstChat.promptTokens}`,
        );
        assert.ok(
          next.evaluatedTokens <= floor.evaluatedTokens + slack,
          `the follow-up evaluated ${next.evaluatedTokens} of ${next.promptTokens}; with no sleep ${floor.evaluatedTokens} of ${floor.promptTokens}`,
        );
        assert.ok(
          completion.evaluatedTokens <= 2 + slack,
          `the completion after the wake evaluated ${completion.evaluatedTokens} of ${completion.promptTokens}`,
        );
        assert.ok(completion.promptTokens > 500);
      } finally {
        await s.server.stop();
      }
    });
  });
}

describe('without state kept (localLlm.stateCacheMB 0)', () => {
  it('the same follow-up after a sleep evaluates the whole history, and no file is written', async (t) => {
    const s = await start({ sleepMode: 'light', stateCacheMB: 0 });
    try {
      await beforeSleep(s);
      const next = await s.chat(followUp);
      const completion = await s.complete('qz');
      t.diagnostic(
        `no state: follow-up ${next.evaluatedTokens} of ${next.promptTokens} evaluated, completion ${completion.evaluatedTokens} of ${completion.promptTokens}`,
      );
      assert.equal(next.evaluatedTokens, next.promptTokens);
      assert.equal(completion.evaluatedTokens, completion.promptTokens);
      assert.deepEqual(await stateFiles(s.stateDir), []);
    } finally {
      await s.server.stop();
    }
  });
});

describe('a state file that does not match', () => {
  async function refused(tamper: (s: Session) => Promise<void>, logged: RegExp): Promise<void> {
    const s = await start({ sleepMode: 'light' });
    try {
      await beforeSleep(s);
      assert.equal((await stateFiles(s.stateDir)).length, 4);
      await tamper(s);
      const next = await s.chat(followUp);
      assert.equal(next.evaluatedTokens, next.promptTokens, 'nothing was restored');
      assert.match(s.logs(), logged);
      const left = await stateFiles(s.stateDir);
      assert.ok(!left.some((f) => f.includes('-chat.')), `the chat state is deleted: ${left.join(' ')}`);
    } finally {
      await s.server.stop();
    }
  }

  it('from another model file (same path, another file) is refused, logged and deleted', async () => {
    const original = await stat(modelCopy);
    try {
      await refused(
        () => utimes(modelCopy, original.atime, new Date(original.mtimeMs + 60_000)),
        /Deleted the saved chat state \S+ unloaded: it belongs to another model file/,
      );
    } finally {
      await utimes(modelCopy, original.atime, original.mtime);
    }
  });

  it('truncated is refused, logged and deleted', async () => {
    await refused(async (s) => {
      const bin = (await stateFiles(s.stateDir)).find((f) => f.endsWith('-chat.bin'));
      assert.ok(bin);
      const file = path.join(s.stateDir, bin);
      await truncate(file, Math.floor((await stat(file)).size / 2));
    }, /Deleted the saved chat state \S+ unloaded: .*truncated/);
  });

  it('from another context size is refused, logged and deleted', async () => {
    await refused(async (s) => {
      s.server.configure({
        model: modelCopy,
        contextSize: 1024,
        threads: 1,
        sleepIdleSeconds: 0,
        sleepMode: 'light',
        completion: { debounceMs: 0, maxTokens: 8, maxLines: 2 },
      });
      await new Promise((r) => setTimeout(r, 300));
    }, /Deleted the saved chat state \S+ unloaded: it comes from a context of 2048 tokens, not 1024/);
  });
});

describe('a full disk during the save', () => {
  let mountPoint: string | null = null;
  before(async () => {
    const dir = path.join(tempRoot, 'tmpfs');
    await mkdir(dir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
      mountPoint = dir;
    } catch {
      mountPoint = null;
    }
  });
  after(() => {
    if (mountPoint) execFileSync('umount', [mountPoint]);
  });

  for (const sleepMode of ['light', 'deep'] as const) {
    it(`leaves the ${sleepMode} sleep working (real 1 MB tmpfs, filled)`, async (t) => {
      if (!mountPoint) return t.skip('cannot mount a tmpfs here (needs root)');
      const storageDir = path.join(mountPoint, sleepMode);
      await mkdir(path.join(storageDir, 'state'), { recursive: true });
      // Fill the tmpfs: no state file fits.
      await writeFile(path.join(mountPoint, `filler-${sleepMode}`), Buffer.alloc(1024 * 1024)).catch(() => undefined);
      const s = await start({ sleepMode }, storageDir);
      try {
        await beforeSleep(s);
        assert.match(s.logs(), /Could not save the (completion|chat) state \(.*\); after the wake it is evaluated again/);
        assert.deepEqual(
          (await stateFiles(s.stateDir)).filter((f) => !f.endsWith('.saving')),
          [],
        );
        const status = await s.server.status();
        assert.equal(status.state, 'sleeping');
        const next = await s.chat(followUp);
        assert.equal(next.evaluatedTokens, next.promptTokens);
        assert.equal((await s.server.status()).state, 'ready');
      } finally {
        await s.server.stop();
        await rm(path.join(mountPoint, `filler-${sleepMode}`), { force: true });
      }
    });
  }
});
