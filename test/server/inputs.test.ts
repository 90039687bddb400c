// Hostile or broken input to the built server over stdio: completion requests with positions out
// of range or params missing, plain-http model URLs, and a corrupt message stream.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DidCloseTextDocumentNotification,
  InlineCompletionRequest,
  ResponseError,
  ShutdownRequest,
  type InlineCompletionItem,
} from 'vscode-languageserver-protocol/node';
import { startModelServer, type ModelServer } from '../fixtures/httpModelServer';
import { tinyModel } from '../fixtures/models';
import { startServer, type TestServer } from './lspClient';

type Position = { line: number; character: number };

let tiny: string;
before(async () => {
  tiny = await tinyModel();
});

function baseSettings(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model, contextSize: 1024, threads: 1, sleepIdleSeconds: 0, completion: { debounceMs: 0, maxTokens: 16, maxLines: 4 }, ...extra };
}

function complete(server: TestServer, uri: string, position: Position): Promise<InlineCompletionItem[]> {
  return server.connection
    .sendRequest(InlineCompletionRequest.type, { textDocument: { uri }, position, context: { triggerKind: 2 } })
    .then((items) => (Array.isArray(items) ? items : (items?.items ?? [])));
}

const at = (position: Position): InlineCompletionItem['range'] => ({ start: position, end: position });

describe('completion requests with bad positions or params', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(baseSettings(tiny));
    await server.waitForState('ready');
  });
  after(() => server.stop());

  it('answers a position past the end of a line or the document with the range it was clamped to', async () => {
    // Random weights may give nothing at a given spot: find a line end where the model completes,
    // then ask again past that end. Both land on the same offset, so the second is a cache hit.
    const docs = [
      'const total = ',
      'function add(a: number, b: number) {\n  return a',
      'let x = [1, 2, 3];\nconst y = x.map((v) =>',
      'if (',
      'const name: string =',
    ];
    let found: { uri: string; end: Position; text: string } | null = null;
    for (const [i, text] of docs.entries()) {
      const uri = `file:///work/clamp-${i}.ts`;
      server.open(uri, text);
      const lines = text.split('\n');
      const end = { line: lines.length - 1, character: lines[lines.length - 1].length };
      const items = await complete(server, uri, end);
      if (items.length > 0 && typeof items[0].insertText === 'string') {
        assert.deepEqual(items[0].range, at(end), 'a valid position is answered as it is');
        found = { uri, end, text: items[0].insertText };
        break;
      }
    }
    assert.ok(found, 'the model completed at none of the line ends tried');
    const counted = (await server.status()).completions;
    for (const past of [
      { line: found.end.line, character: found.end.character + 500 },
      { line: found.end.line + 1000, character: 0 },
      { line: 2 ** 31, character: 2 ** 31 },
    ]) {
      const items = await complete(server, found.uri, past);
      assert.equal(items.length, 1, `an answer for ${JSON.stringify(past)}`);
      assert.equal(items[0].insertText, found.text);
      assert.deepEqual(items[0].range, at(found.end), `the range for ${JSON.stringify(past)} is the clamped position`);
    }
    assert.equal((await server.status()).completions.cacheHits - counted.cacheHits, 3, 'each was the same offset');
  });

  it('clamps a negative position to the start of the document', async () => {
    const uri = 'file:///work/negative.ts';
    server.open(uri, 'const a = 1;\nconst b = ');
    for (const position of [
      { line: -1, character: 5 },
      { line: 0, character: -7 },
    ]) {
      for (const item of await complete(server, uri, position)) assert.deepEqual(item.range, at({ line: 0, character: 0 }));
    }
  });

  it('rejects a malformed request with InvalidParams and a sentence, and stays up', async () => {
    const uri = 'file:///work/malformed.ts';
    server.open(uri, 'const a = 1;\n');
    const position = { line: 0, character: 3 };
    const malformed: unknown[] = [
      { position },
      { textDocument: { uri } },
      { textDocument: {}, position },
      { textDocument: { uri: 42 }, position },
      { textDocument: { uri }, position: { line: 'one', character: 0 } },
      { textDocument: { uri }, position: { line: 0 } },
      { textDocument: { uri }, position: { line: 0.5, character: 1 } },
      { textDocument: { uri }, position: { line: 0, character: null } },
      { textDocument: { uri }, position: 'start' },
    ];
    for (const params of malformed) {
      const what = JSON.stringify(params);
      await assert.rejects(server.connection.sendRequest(InlineCompletionRequest.method, params), (e: unknown) => {
        assert.ok(e instanceof ResponseError, `${what}: a ResponseError, got ${String(e)}`);
        assert.equal(e.code, -32602, `${what}: InvalidParams, got ${e.code} ${e.message}`);
        assert.match(e.message, /^textDocument\/inlineCompletion needs .+\.$/, what);
        assert.doesNotMatch(e.message, /Cannot read|TypeError|undefined|null|\n/, what);
        return true;
      });
    }
    assert.equal((await server.status()).state, 'ready');
  });

  it('rejects `"params": null` with InvalidParams and a sentence too', async () => {
    // The LSP client cannot send null params by name, so this one goes in as a raw frame.
    let out = '';
    const collect = (d: Buffer): void => void (out += d.toString());
    server.process.stdout!.on('data', collect);
    try {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 'raw-null', method: InlineCompletionRequest.method, params: null });
      server.process.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      let reply: { error?: { code: number; message: string } } | undefined;
      for (let tries = 0; !reply && tries < 200; tries++) {
        await server.status();
        reply = out
          .split(/Content-Length: \d+\r\n\r\n/)
          .filter((chunk) => chunk.includes('"raw-null"'))
          .map((chunk) => JSON.parse(chunk) as { id?: unknown; error?: { code: number; message: string } })
          .find((m) => m.id === 'raw-null');
      }
      assert.ok(reply, `no answer to the raw request; stdout: ${out.slice(-500)}`);
      assert.equal(reply.error?.code, -32602, JSON.stringify(reply));
      assert.match(reply.error?.message ?? '', /^textDocument\/inlineCompletion needs .+\.$/);
    } finally {
      server.process.stdout!.off('data', collect);
    }
  });
});

/** This machine's first address that is not loopback, or null when it has none. */
function nonLoopbackAddress(): string | null {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return null;
}

/** Forwards connections on `host` to the model server on 127.0.0.1, so its URL is not loopback. */
async function forwarder(host: string, target: ModelServer): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.once('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function keptModels(storageDir: string): string[] {
  const dir = path.join(storageDir, 'models');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.gguf')) : [];
}

describe('plain http model URLs', () => {
  const file = 'test-user/Tiny-Coder-GGUF/resolve/main/tiny-coder-q8_0.gguf';
  const risk = /plain http.*anyone on the network path can change the file.*native code/;
  let hub: ModelServer;
  before(async () => {
    hub = await startModelServer({ file: tiny });
  });
  after(() => hub.close());

  async function firstStart(model: string, answer: string, storageDir: string): Promise<{ server: TestServer; asked: string[] }> {
    const asked: string[] = [];
    const server = await startServer(baseSettings(model), {
      storageDir,
      onMessageRequest: (p) => {
        asked.push(p.message);
        return p.actions?.find((a) => a.title === answer) ?? null;
      },
    });
    return { server, asked };
  }

  it('to another machine, asks with the risk named, and declining downloads nothing', async (t) => {
    const host = nonLoopbackAddress();
    if (!host) return t.skip('this machine has no address other than loopback');
    const forward = await forwarder(host, hub);
    const storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-http-'));
    hub.clearLog();
    const { server, asked } = await firstStart(`http://${host}:${forward.port}/${file}`, 'Not now', storageDir);
    try {
      const failed = await server.waitForState('error');
      assert.equal(asked.length, 1, 'one question');
      assert.match(asked[0], risk);
      assert.ok(asked[0].includes(`${host}:${forward.port}`), 'the question names the host');
      assert.match(failed.error ?? '', /declined/);
      assert.doesNotMatch(failed.error ?? '', /\n/);
      assert.deepEqual(keptModels(storageDir), [], 'nothing was downloaded');
      assert.deepEqual(
        hub.requests.filter((r) => r.range !== null),
        [],
        'no model bytes were asked for',
      );
    } finally {
      await server.stop();
      await forward.close();
    }
  });

  it('to another machine, downloads and loads once the user accepts the risk', async (t) => {
    const host = nonLoopbackAddress();
    if (!host) return t.skip('this machine has no address other than loopback');
    const forward = await forwarder(host, hub);
    const storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-http-'));
    const { server, asked } = await firstStart(`http://${host}:${forward.port}/${file}`, 'Download over http', storageDir);
    try {
      const ready = await server.waitForState('ready', 120_000);
      assert.equal(asked.length, 1);
      assert.match(asked[0], risk);
      assert.equal(ready.model?.name, 'tiny-random');
      assert.equal(keptModels(storageDir).length, 1);
    } finally {
      await server.stop();
      await forward.close();
    }
  });

  it('to loopback, asks the ordinary question without the warning', async () => {
    const storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-http-'));
    const { server, asked } = await firstStart(`${hub.endpoint}${file}`, 'Not now', storageDir);
    try {
      const failed = await server.waitForState('error');
      assert.equal(asked.length, 1);
      assert.match(asked[0], /needs to download [\w.-]+\.gguf \(/);
      assert.doesNotMatch(asked[0], /plain http|network path/);
      assert.match(failed.error ?? '', /declined/);
      assert.deepEqual(keptModels(storageDir), []);
    } finally {
      await server.stop();
    }
  });
});

/** The exit of a process that may already have exited. */
function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A liveness bound, not a timing: the server must go, however slowly. */
const exitLimitMs = 30_000;

describe('a corrupt message stream', () => {
  const idle = { model: '', loadOnStartup: false };

  for (const [name, frame] of [
    ['a non-numeric Content-Length', 'Content-Length: abc\r\n\r\n{}'],
    ['a header without Content-Length', 'Content-Type: application/json\r\n\r\n{}'],
    ['a header line without a colon', 'this is not a header\r\n\r\n'],
  ] as const) {
    it(`with ${name}, the server says so and exits, so the client can start a fresh one`, async () => {
      const server = await startServer(idle);
      try {
        await server.status();
        server.process.stdin!.write(frame);
        const exited = await Promise.race([
          exitOf(server.process),
          new Promise<null>((r) => setTimeout(() => r(null), exitLimitMs).unref()),
        ]);
        assert.ok(exited, `the server still runs ${exitLimitMs / 1000} s after the bad frame (deaf)`);
        assert.equal(exited.code, 1, 'a non-zero exit: no shutdown was asked for');
        assert.ok(
          server.logs.some((l) => /message stream is corrupt.*exiting/.test(l)),
          `a log line says why; logs: ${server.logs.join('')}`,
        );
      } finally {
        if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
        await exitOf(server.process);
        server.connection.dispose();
      }
    });
  }

  // The stdio transport is built by main.ts, so it must also end the server as createConnection's does.
  for (const shutdownFirst of [false, true]) {
    it(`the end of its input ends the server, with exit code ${shutdownFirst ? '0 after a shutdown request' : '1 without one'}`, async () => {
      const server = await startServer(idle);
      try {
        await server.status();
        if (shutdownFirst) await server.connection.sendRequest(ShutdownRequest.type);
        server.process.stdin!.end();
        const exited = await Promise.race([
          exitOf(server.process),
          new Promise<null>((r) => setTimeout(() => r(null), exitLimitMs).unref()),
        ]);
        assert.ok(exited, `the server still runs ${exitLimitMs / 1000} s after its input ended`);
        assert.equal(exited.code, shutdownFirst ? 0 : 1);
      } finally {
        if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
        await exitOf(server.process);
        server.connection.dispose();
      }
    });
  }

  it('a well-framed body that is not JSON is dropped, and the next request is answered', async () => {
    const server = await startServer(idle);
    try {
      await server.status();
      server.process.stdin!.write('Content-Length: 9\r\n\r\nnot json!');
      const status = await server.status();
      assert.equal(status.inFlight, 0);
      assert.equal(server.process.exitCode, null);
      assert.ok(server.logs.some((l) => /not JSON/.test(l)));
    } finally {
      if (server.process.exitCode === null) await server.stop();
      else server.connection.dispose();
    }
  });
});

/** A place where the model completes (random weights may give nothing at a given spot), with its text. */
async function findCompletion(server: TestServer, name: string): Promise<{ uri: string; end: Position; text: string }> {
  const docs = ['const total = ', 'function add(a: number, b: number) {\n  return a', 'if (', 'const name: string ='];
  for (const [i, text] of docs.entries()) {
    const uri = `file:///work/${name}-${i}.ts`;
    server.open(uri, text);
    const lines = text.split('\n');
    const end = { line: lines.length - 1, character: lines[lines.length - 1].length };
    const items = await complete(server, uri, end);
    if (items.length > 0 && typeof items[0].insertText === 'string') return { uri, end, text: items[0].insertText };
  }
  assert.fail('the model completed at none of the places tried');
}

describe('the completion cache follows the model', () => {
  it('never serves a suggestion of the previous model after a switch: not while the new one is in error, not once another is ready', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-switch-'));
    const other = path.join(dir, 'other.gguf');
    copyFileSync(tiny, other);
    const server = await startServer(baseSettings(tiny));
    try {
      await server.waitForState('ready');
      const found = await findCompletion(server, 'switch');
      const before = (await server.status()).completions;
      const again = await complete(server, found.uri, found.end);
      assert.deepEqual(
        again.map((i) => i.insertText),
        [found.text],
      );
      assert.equal(
        (await server.status()).completions.cacheHits - before.cacheHits,
        1,
        'served from the cache while the model is the same',
      );

      server.configure(baseSettings(path.join(dir, 'missing.gguf')));
      await server.waitForState('error');
      const inError = (await server.status()).completions;
      assert.deepEqual(await complete(server, found.uri, found.end), [], 'nothing while the chosen model is in error');
      assert.equal((await server.status()).completions.cacheHits, inError.cacheHits);

      server.configure(baseSettings(other));
      await server.waitFor((s) => s.state === 'ready' && s.model?.path === other, 'the other model ready');
      const ready = (await server.status()).completions;
      await complete(server, found.uri, found.end);
      assert.equal((await server.status()).completions.cacheHits, ready.cacheHits, 'the other model answers itself');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Sizes of the strings of at least `minBytes` in a V8 heap snapshot. */
function bigStrings(snapshotFile: string, minBytes: number): number[] {
  const snapshot = JSON.parse(readFileSync(snapshotFile, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const typeAt = fields.indexOf('type');
  const sizeAt = fields.indexOf('self_size');
  const stringTypes = new Set(['string', 'concatenated string', 'sliced string'].map((t) => types.indexOf(t)));
  const sizes: number[] = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (stringTypes.has(snapshot.nodes[i + typeAt]) && snapshot.nodes[i + sizeAt] >= minBytes) sizes.push(snapshot.nodes[i + sizeAt]);
  }
  return sizes;
}

/** A heap snapshot of the server (taken after a full GC), read back once it is written whole. */
async function serverHeap(server: TestServer, dir: string, minBytes: number): Promise<number[]> {
  const known = new Set(readdirSync(dir));
  server.process.kill('SIGUSR2');
  const deadline = Date.now() + 180_000;
  for (;;) {
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    if (file) {
      try {
        return bigStrings(path.join(dir, file), minBytes);
      } catch {
        // Still being written.
      }
    }
    assert.ok(Date.now() < deadline, 'no heap snapshot of the server');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a closed document', () => {
  it('is released: once a 20 MB document is closed the server holds no string of its size', async () => {
    const snapshots = mkdtempSync(path.join(os.tmpdir(), 'local-llm-heap-'));
    const server = await startServer(baseSettings(tiny), {
      env: { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}` },
    });
    try {
      await server.waitForState('ready');
      const line = 'const value = compute(alpha, beta, gamma); // a line of code\n';
      const text = line.repeat(Math.ceil((20 * 1024 * 1024) / line.length)) + 'const total = ';
      const uri = 'file:///work/big.ts';
      server.open(uri, text);
      const end = { line: text.split('\n').length - 1, character: 'const total = '.length };
      // Completions inside it and at its end, so every per-document path has seen it.
      await complete(server, uri, { line: 1000, character: 10 });
      await complete(server, uri, end);
      const open = await serverHeap(server, snapshots, 10 * 1024 * 1024);
      assert.ok(open.length > 0, 'while open, the document is in the heap (the measure can see it)');

      await server.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
      await server.status();
      const closed = await serverHeap(server, snapshots, 10 * 1024 * 1024);
      assert.deepEqual(closed, [], 'strings of 10 MB or more still held after the close');
    } finally {
      await server.stop();
      rmSync(snapshots, { recursive: true, force: true });
    }
  });
});
