// Model setup against a local HTTP server: progress, resume, offline-first, every error the
// user can meet, and the disk-space check on a real tiny tmpfs where this machine allows one.
// Downloads run through node-llama-cpp's real downloader in its real child process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCached, listModels, modelsDirOf, readIndex, recordDownload } from '../../server/src/models/cache';
import { ModelSetupError, type ModelSetupErrorKind } from '../../server/src/models/setupError';
import { resolveModel, type ResolveOptions } from '../../server/src/models/resolve';
import { closedPortEndpoint, countingDeadPort, startModelServer, type ModelServer } from '../fixtures/httpModelServer';
import { brokenModels, cachedModel, tinyModel } from '../fixtures/models';
import { defaultGgufOptions } from '../../scripts/dev/gguf';

const uri = 'hf:test-user/Tiny-Coder-GGUF/tiny-coder-q8_0.gguf';
/** Long enough for a loaded 2-core machine; tests that expect a timeout pass their own. */
const timeoutMs = 20_000;

type Progress = Parameters<ResolveOptions['onProgress']>[0];
type ConfirmInfo = Parameters<ResolveOptions['confirm']>[0];

interface Run {
  confirms: ConfirmInfo[];
  progress: Progress[];
  options: ResolveOptions;
}

function run(storageDir: string, endpoint: string, overrides: Partial<ResolveOptions> = {}): Run {
  const confirms: ConfirmInfo[] = [];
  const progress: Progress[] = [];
  const options: ResolveOptions = {
    storageDir,
    endpoint,
    timeoutMs,
    confirm: async (info) => {
      confirms.push(info);
      return true;
    },
    onProgress: (p) => progress.push(p),
    log: () => undefined,
    ...overrides,
  };
  return { confirms, progress, options };
}

const tempRoot = mkdtempSync(path.join(os.tmpdir(), 'local-llm-download-'));
let dirCount = 0;
function tempStorage(): string {
  const dir = path.join(tempRoot, `storage-${++dirCount}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function filesIn(storageDir: string): string[] {
  const dir = modelsDirOf(storageDir);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function rejectsWith(promise: Promise<unknown>, kind: ModelSetupErrorKind, sentence: RegExp): Promise<ModelSetupError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ModelSetupError, `expected a ModelSetupError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, sentence);
    assert.doesNotMatch(err.message, /\n/, 'one sentence, one line');
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

/** Range requests, which fetch the model bytes (ipull's first GET, without Range, only reads the size). */
const dataRequests = (server: ModelServer): number[] =>
  server.requests.filter((r) => r.rangeStart !== null).map((r) => r.rangeStart as number);

/** Bytes asked for by Range requests. */
const rangeBytes = (server: ModelServer, size: number): number =>
  server.requests
    .filter((r) => r.rangeStart !== null)
    .reduce((sum, r) => sum + ((r.rangeEnd ?? size - 1) - (r.rangeStart as number) + 1), 0);

let tiny: string;
let medium: string;

before(async () => {
  tiny = await tinyModel();
  // Five of ipull's 5 MiB chunks, so a cut download has whole chunks to resume after.
  medium = await cachedModel({ ...defaultGgufOptions, name: 'download-medium', embd: 512, ff: 1024, heads: 8, seed: 3 });
});

after(() => rmSync(tempRoot, { recursive: true, force: true }));

describe('download with progress, then offline forever', () => {
  let server: ModelServer;
  const storageDir = tempStorage();
  let downloadedPath = '';

  before(async () => {
    server = await startModelServer({ file: tiny, mode: 'slow' });
  });
  after(() => server.close());

  it('asks once, reports monotonic progress while serving slowly, and stores a checked copy', async () => {
    const r = run(storageDir, server.endpoint);
    const resolved = await resolveModel(uri, r.options);
    const size = readFileSync(tiny).length;

    assert.equal(resolved.downloaded, true);
    assert.equal(resolved.source, uri);
    assert.equal(path.dirname(resolved.path), modelsDirOf(storageDir));
    assert.equal(sha256(resolved.path), sha256(tiny));

    assert.equal(r.confirms.length, 1);
    assert.deepEqual(r.confirms[0], { uri, fileName: path.basename(resolved.path), sizeBytes: size });

    assert.ok(r.progress.length >= 2, `progress events: ${r.progress.length}`);
    for (let i = 1; i < r.progress.length; i++) {
      assert.ok(r.progress[i].downloadedBytes >= r.progress[i - 1].downloadedBytes, 'progress never steps back');
    }
    assert.ok(
      r.progress.some((p) => p.downloadedBytes > 0 && p.downloadedBytes < size),
      'a progress event mid-file',
    );
    const last = r.progress[r.progress.length - 1];
    assert.equal(last.downloadedBytes, size);
    assert.equal(last.totalBytes, size);
    // Speed and time left are measured while the file arrives, and at the end nothing is left.
    assert.ok(
      r.progress.some((p) => p.downloadedBytes < size && p.bytesPerSecond > 0 && p.etaSeconds !== null && p.etaSeconds > 0),
      'a mid-file event with a speed and a time left',
    );
    assert.equal(last.etaSeconds, 0);

    const index = await readIndex(modelsDirOf(storageDir));
    assert.deepEqual(
      index.map((e) => [e.source, e.file, e.sizeBytes]),
      [[uri, path.basename(resolved.path), size]],
    );
    assert.deepEqual(await listModels(storageDir), [
      { path: resolved.path, name: path.basename(resolved.path), sizeBytes: size, source: uri },
    ]);
    downloadedPath = resolved.path;
  });

  it('resolves the cached model with the network off, making no connection at all', async () => {
    assert.ok(downloadedPath, 'needs the download of the test before');
    const requestsBefore = server.requests.length;
    const connectionsBefore = server.connections;
    const dead = await countingDeadPort();
    try {
      for (const spelling of [uri, `hf://${uri.slice(3)}`, ` ${uri} `]) {
        const r = run(storageDir, dead.endpoint);
        const resolved = await resolveModel(spelling, r.options);
        assert.deepEqual(resolved, { path: downloadedPath, source: uri, downloaded: false });
        assert.equal(r.confirms.length, 0);
        assert.equal(r.progress.length, 0);
      }
      const closed = await closedPortEndpoint();
      const resolved = await resolveModel(uri, run(storageDir, closed).options);
      assert.equal(resolved.path, downloadedPath);
      assert.equal(dead.connections, 0, 'no connection to the dead endpoint');
      assert.equal(server.requests.length, requestsBefore, 'no request to the old endpoint either');
      assert.equal(server.connections, connectionsBefore);
    } finally {
      await dead.close();
    }
  });

  it('does not trust a cached file that changed on disk, and says it cannot reach the network', async () => {
    const storage = tempStorage();
    const modelsDir = modelsDirOf(storage);
    mkdirSync(modelsDir, { recursive: true });
    const file = path.join(modelsDir, 'hf_test-user_tiny-coder-q8_0.gguf');
    copyFileSync(tiny, file);
    await recordDownload(modelsDir, { source: uri, file: path.basename(file), sizeBytes: readFileSync(tiny).length });
    assert.ok(await findCached(modelsDir, uri));
    writeFileSync(file, readFileSync(tiny).subarray(0, 1000));
    assert.equal(await findCached(modelsDir, uri), null);

    const r = run(storage, await closedPortEndpoint());
    await rejectsWith(resolveModel(uri, r.options), 'offline', /cannot be reached .* not downloaded yet/);
    assert.equal(r.confirms.length, 0);
  });
});

describe('hf:user/repo:quant URIs', () => {
  let server: ModelServer;
  before(async () => {
    server = await startModelServer({ file: tiny });
  });
  after(() => server.close());

  it('resolve the file through the manifest, then stay cached under the same URI offline', async () => {
    const storageDir = tempStorage();
    const quantUri = 'hf:test-user/Tiny-Coder-GGUF:Q8_0';
    const r = run(storageDir, server.endpoint);
    const resolved = await resolveModel(quantUri, r.options);
    assert.equal(resolved.downloaded, true);
    assert.equal(sha256(resolved.path), sha256(tiny));
    assert.ok(server.requests.some((q) => q.url.startsWith('/v2/test-user/Tiny-Coder-GGUF/manifests/Q8_0')));
    assert.ok(server.requests.some((q) => q.url.includes('/resolve/main/tiny-coder-q8_0.gguf')));

    const closed = await closedPortEndpoint();
    assert.deepEqual(await resolveModel(quantUri, run(storageDir, closed).options), {
      path: resolved.path,
      source: quantUri,
      downloaded: false,
    });
  });

  it('report an unknown quantization as not found', async () => {
    server.setMode('notFound');
    const r = run(tempStorage(), server.endpoint);
    await rejectsWith(resolveModel('hf:test-user/Tiny-Coder-GGUF:Q3_K_S', r.options), 'http404', /was not found/);
    assert.equal(r.confirms.length, 0);
  });
});

describe('an interrupted download resumes', () => {
  let server: ModelServer;
  before(async () => {
    server = await startModelServer({ file: medium, mode: 'drop', dropAfterBytes: 6 * 1024 * 1024, slowChunkBytes: 64 * 1024 });
  });
  after(() => server.close());
  const chunk = 5 * 1024 * 1024; // ipull keeps whole chunks only

  it('keeps the partial file after the connection drops, then fetches only the rest', async () => {
    const storageDir = tempStorage();
    const first = run(storageDir, server.endpoint, { timeoutMs: 3000 });
    await rejectsWith(resolveModel(uri, first.options), 'timeout', /no progress for 3 s .* next try resumes/);
    assert.ok(first.progress.length > 0, 'some bytes arrived before the drop');
    const partial = filesIn(storageDir).filter((f) => f.endsWith('.ipull'));
    assert.equal(partial.length, 1, `files: ${filesIn(storageDir).join(', ')}`);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.endsWith('.gguf')),
      [],
      'nothing claims to be a model yet',
    );
    assert.deepEqual(await readIndex(modelsDirOf(storageDir)), []);

    server.setMode('normal');
    server.clearLog();
    const second = run(storageDir, server.endpoint);
    const resolved = await resolveModel(uri, second.options);
    assert.equal(resolved.downloaded, true);
    assert.equal(sha256(resolved.path), sha256(medium));

    const size = readFileSync(medium).length;
    const asked = rangeBytes(server, size);
    assert.ok(dataRequests(server).length > 0, 'the second try fetched with Range requests');
    assert.ok(
      asked > 0 && asked <= size - chunk,
      `the second try asked for ${asked} of ${size} bytes: ${server.requests.map((r) => r.range).join(', ')}`,
    );
    assert.equal(second.confirms[0].sizeBytes, size);
    assert.ok(second.progress[0].downloadedBytes >= chunk, 'progress starts after the part already on disk');
    assert.deepEqual(filesIn(storageDir), [path.basename(resolved.path), 'index.json']);
  });

  it('keeps what arrived when the user cancels, and the next try resumes from it', async () => {
    server.setMode('slow');
    const storageDir = tempStorage();
    const size = readFileSync(medium).length;
    const abort = new AbortController();
    const first = run(storageDir, server.endpoint, {
      signal: abort.signal,
      // Three parallel streams: by 3 chunks' worth, at least one chunk is whole on disk.
      onProgress: (p) => {
        if (p.downloadedBytes >= 3 * chunk + chunk / 2) abort.abort();
      },
    });
    await rejectsWith(resolveModel(uri, first.options), 'cancelled', /was cancelled; what arrived is kept/);
    assert.equal(filesIn(storageDir).filter((f) => f.endsWith('.gguf.ipull')).length, 1, `files: ${filesIn(storageDir).join(', ')}`);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.endsWith('.gguf')),
      [],
    );

    server.setMode('normal');
    server.clearLog();
    const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
    assert.equal(sha256(resolved.path), sha256(medium));
    // Which chunks ipull had saved when it was stopped varies; at least one was reused.
    const asked = rangeBytes(server, size);
    assert.ok(
      asked > 0 && asked < size,
      `the second try asked for ${asked} of ${size} bytes: ${server.requests.map((r) => r.range).join(', ')}`,
    );
  });
});

/** Refused with a ModelSetupError of one of `kinds`; anything else (a resolved model too) fails. */
async function refused(promise: Promise<unknown>, kinds: ModelSetupErrorKind[]): Promise<ModelSetupError> {
  const outcome = await promise.then(
    (v) => v,
    (e: unknown) => e,
  );
  assert.ok(outcome instanceof ModelSetupError, `expected a refusal, got ${JSON.stringify(outcome)}`);
  assert.ok(kinds.includes(outcome.kind), `${outcome.kind}: ${outcome.message}`);
  return outcome;
}

const noModelIn = async (storageDir: string): Promise<void> => {
  assert.deepEqual(
    filesIn(storageDir).filter((f) => f.endsWith('.gguf')),
    [],
    'nothing claims to be a model',
  );
  assert.deepEqual(await readIndex(modelsDirOf(storageDir)), []);
};

describe('what the server sends is checked, not trusted', () => {
  const chunk = 5 * 1024 * 1024;
  /** Library text meant for developers, which must never reach the user. */
  const libraryText = /browser|ignoreIfRange|_ignore|Expected \d+ bytes|Status code|stack|at \S+ \(/;

  it('a download cut midway and resumed from a server that ignores Range is never loaded; the next good try resumes and matches the hub sha256', async () => {
    const server = await startModelServer({ file: medium, mode: 'drop', dropAfterBytes: 6 * 1024 * 1024, linkedEtag: true });
    try {
      const storageDir = tempStorage();
      await rejectsWith(resolveModel(uri, run(storageDir, server.endpoint, { timeoutMs: 3000 }).options), 'timeout', /next try resumes/);
      // Range ignored: 200 and the file from its first byte, as long as the part asked for.
      server.setMode('ignoreRangeStart');
      const err = await refused(resolveModel(uri, run(storageDir, server.endpoint).options), ['rangeIgnored', 'mismatch']);
      assert.doesNotMatch(err.message, libraryText);
      await noModelIn(storageDir);

      server.setMode('normal');
      const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
      assert.equal(sha256(resolved.path), sha256(medium));
      const [entry] = await readIndex(modelsDirOf(storageDir));
      assert.equal(entry.sha256, sha256(medium), 'the index records the checked hash');
      assert.equal(entry.verifiedBy, 'hub');
    } finally {
      await server.close();
    }
  });

  it('a 200 to a request for part of the file stops the download before a byte of it is written, keeping the good part', async () => {
    // No hash published here: only the Range watch can tell.
    const server = await startModelServer({ file: medium, mode: 'drop', dropAfterBytes: 6 * 1024 * 1024 });
    try {
      const storageDir = tempStorage();
      await rejectsWith(resolveModel(uri, run(storageDir, server.endpoint, { timeoutMs: 3000 }).options), 'timeout', /next try resumes/);
      server.setMode('ignoreRangeStart');
      await rejectsWith(
        resolveModel(uri, run(storageDir, server.endpoint).options),
        'rangeIgnored',
        /127\.0\.0\.1:\d+ did not send the part .* ignores byte ranges/,
      );
      await noModelIn(storageDir);
      assert.equal(filesIn(storageDir).filter((f) => f.endsWith('.ipull')).length, 1, 'what arrived before is kept');

      server.setMode('normal');
      server.clearLog();
      const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
      assert.equal(sha256(resolved.path), sha256(medium));
      const size = readFileSync(medium).length;
      const asked = rangeBytes(server, size);
      assert.ok(asked > 0 && asked <= size - chunk, `the last try asked for ${asked} of ${size} bytes`);
    } finally {
      await server.close();
    }
  });

  it('a server that drops Range (200 and the whole file) is reported in our words; the library text goes to the log only', async () => {
    const server = await startModelServer({ file: medium, mode: 'ignoreRange' });
    try {
      const storageDir = tempStorage();
      const logged: string[] = [];
      const r = run(storageDir, server.endpoint, { log: (line) => logged.push(line) });
      const err = await rejectsWith(resolveModel(uri, r.options), 'rangeIgnored', /did not send the part of .* ignores byte ranges/);
      assert.doesNotMatch(err.message, libraryText);
      assert.ok(
        logged.some((l) => /HTTP 200|Expected \d+ bytes/.test(l)),
        `logged: ${logged.join(' | ')}`,
      );
      await noModelIn(storageDir);
    } finally {
      await server.close();
    }
  });

  it('a file that does not match the sha256 the hub publishes is deleted, never indexed; a matching one is indexed with its hash', async () => {
    const server = await startModelServer({ file: tiny, linkedEtag: 'ab'.repeat(32) });
    try {
      const storageDir = tempStorage();
      await rejectsWith(
        resolveModel(uri, run(storageDir, server.endpoint).options),
        'mismatch',
        /does not match the sha256 that 127\.0\.0\.1:\d+ publishes for it, so it was deleted/,
      );
      await noModelIn(storageDir);

      server.setLinkedEtag(true);
      const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
      assert.equal(sha256(resolved.path), sha256(tiny));
      assert.deepEqual(
        (await readIndex(modelsDirOf(storageDir))).map((e) => [e.file, e.sha256, e.verifiedBy]),
        [[path.basename(resolved.path), sha256(tiny), 'hub']],
      );
    } finally {
      await server.close();
    }
  });

  it('a URL with #sha256=<hex> is checked against it; a wrong hash deletes the file, a malformed one is refused before any download', async () => {
    const server = await startModelServer({ file: tiny });
    try {
      const url = `${server.endpoint}files/tiny-coder-q8_0.gguf`;
      const storageDir = tempStorage();
      await rejectsWith(
        resolveModel(`${url}#sha256=${'0'.repeat(64)}`, run(storageDir, server.endpoint).options),
        'mismatch',
        /does not match the sha256 in .*#sha256=0+, so it was deleted/,
      );
      await noModelIn(storageDir);

      const bad = run(storageDir, server.endpoint);
      await rejectsWith(resolveModel(`${url}#sha256=1234`, bad.options), 'notFound', /#sha256= part must be 64 hexadecimal digits/);
      assert.equal(bad.confirms.length, 0);

      const good = `${url}#sha256=${sha256(tiny).toUpperCase()}`;
      const resolved = await resolveModel(good, run(storageDir, server.endpoint).options);
      assert.equal(sha256(resolved.path), sha256(tiny));
      assert.deepEqual(
        (await readIndex(modelsDirOf(storageDir))).map((e) => [e.source, e.sha256, e.verifiedBy]),
        [[good, sha256(tiny), 'url']],
      );
    } finally {
      await server.close();
    }
  });

  it('a redirect to a file: URL or in a loop is refused in our words at once, not after a no-progress timeout', async () => {
    const server = await startModelServer({ file: tiny, mode: 'redirectToFile' });
    try {
      const toFile = run(tempStorage(), server.endpoint);
      await rejectsWith(resolveModel(uri, toFile.options), 'redirect', /redirects to a file: URL, which is not allowed/);
      server.setMode('redirectLoop');
      const loop = run(tempStorage(), server.endpoint);
      await rejectsWith(resolveModel(uri, loop.options), 'redirect', /redirects in a loop/);
      assert.equal(toFile.confirms.length + loop.confirms.length, 0);
    } finally {
      await server.close();
    }
  });
});

describe("a server never writes where it did not say, never names the cache's files, never skips the plain-http question", () => {
  const libraryText = /browser|ignoreIfRange|_ignore|Expected \d+ bytes|Status code|stack|at \S+ \(/;

  it('a server without byte ranges that cuts the stream is refused in our words, never resumed into a corrupt file; the next try starts from byte 0', async () => {
    // No hash published: the Range watch alone must tell. Cut after two of ipull's 5 MiB chunks.
    const server = await startModelServer({ file: medium, mode: 'cutNoRanges', dropAfterBytes: 12 * 1024 * 1024 });
    try {
      const storageDir = tempStorage();
      const err = await refused(resolveModel(uri, run(storageDir, server.endpoint).options), ['rangeIgnored']);
      assert.match(err.message, /127\.0\.0\.1:\d+ cut the download of .* cannot resume it .* next try starts from the beginning/);
      assert.doesNotMatch(err.message, libraryText);
      await noModelIn(storageDir);
      assert.deepEqual(
        filesIn(storageDir).filter((f) => f.endsWith('.ipull')),
        [],
        'nothing is kept to resume from',
      );

      // The server now sends the whole file: the next try gets every byte where it belongs.
      const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
      assert.equal(sha256(resolved.path), sha256(medium));
      assert.deepEqual(
        (await readIndex(modelsDirOf(storageDir))).map((e) => [e.sha256, e.verifiedBy]),
        [[sha256(medium), null]],
      );
    } finally {
      await server.close();
    }
  });

  for (const name of ['index.json', '.download.lock', 'other.gguf.ipull']) {
    it(`a Content-Disposition naming "${name}" does not name the cached file`, async () => {
      const server = await startModelServer({ file: tiny, dispositionName: name });
      try {
        const storageDir = tempStorage();
        const url = `${server.endpoint}files/tiny-coder-q8_0.gguf`;
        // The hub is elsewhere, so the downloader does not name the file after an hf: path.
        const resolved = await resolveModel(url, run(storageDir, 'http://localhost:9/').options);
        const file = path.basename(resolved.path);
        assert.match(file, /^tiny-coder-q8_0-[0-9a-f]{8}\.gguf$/);
        assert.equal(sha256(resolved.path), sha256(tiny), 'the model is on disk, whole');
        assert.deepEqual(
          (await readIndex(modelsDirOf(storageDir))).map((e) => [e.source, e.file]),
          [[url, file]],
        );
        assert.deepEqual(filesIn(storageDir), ['index.json', file]);
        // Offline, the index still finds it.
        assert.deepEqual(await resolveModel(url, run(storageDir, await closedPortEndpoint()).options), {
          path: resolved.path,
          source: url,
          downloaded: false,
        });
      } finally {
        await server.close();
      }
    });
  }

  it('an https URL that redirects to plain http on another machine gets the plain-http question', async (t) => {
    // Another machine: this one's own address on a network interface, which is not loopback.
    const lan = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (!lan) return t.skip('this machine has no network address besides loopback');
    const target = await startModelServer({ file: tiny, listenHost: lan });
    const certDir = mkdtempSync(path.join(tempRoot, 'tls-'));
    const key = path.join(certDir, 'key.pem');
    const cert = path.join(certDir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore', input: '' },
    );
    const redirects = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
      res.writeHead(302, { location: `${target.endpoint}files/tiny-coder-q8_0.gguf` }).end();
    });
    await new Promise<void>((resolve) => redirects.listen(0, '127.0.0.1', resolve));
    // The download worker, a child of this process, trusts the certificate made here.
    const trusted = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = cert;
    try {
      const url = `https://127.0.0.1:${(redirects.address() as AddressInfo).port}/files/tiny-coder-q8_0.gguf`;
      const storageDir = tempStorage();
      const asked: ConfirmInfo[] = [];
      const declined = run(storageDir, target.endpoint, {
        confirm: async (info) => {
          asked.push(info);
          return false;
        },
      });
      await rejectsWith(resolveModel(url, declined.options), 'declined', /was declined/);
      assert.equal(asked.length, 1);
      assert.equal(asked[0].plainHttpHost, new URL(target.endpoint).host);
      assert.deepEqual(dataRequests(target), [], 'no model bytes before the answer');
      await noModelIn(storageDir);

      const accepted = run(storageDir, target.endpoint);
      const resolved = await resolveModel(url, accepted.options);
      assert.equal(sha256(resolved.path), sha256(tiny));
      assert.equal(accepted.confirms[0].plainHttpHost, new URL(target.endpoint).host);
    } finally {
      if (trusted === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = trusted;
      redirects.closeAllConnections();
      await new Promise<void>((resolve) => redirects.close(() => resolve()));
      await target.close();
    }
  });
});

describe('errors the user can meet', () => {
  let server: ModelServer;
  before(async () => {
    server = await startModelServer({ file: tiny });
  });
  after(() => server.close());

  it('HTTP 404 says the model was not found, without asking to download', async () => {
    server.setMode('notFound');
    const storageDir = tempStorage();
    const r = run(storageDir, server.endpoint);
    await rejectsWith(resolveModel(uri, r.options), 'http404', /was not found \(HTTP 404\)/);
    assert.equal(r.confirms.length, 0);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.includes('.gguf')),
      [],
    );
  });

  it('HTTP 401 says a token is needed, and 403 says the model is gated', async () => {
    server.setMode('unauthorized');
    const r401 = run(tempStorage(), server.endpoint);
    await rejectsWith(resolveModel(uri, r401.options), 'unauthorized', /needs a Hugging Face token \(HTTP 401\).*HF_TOKEN/);
    server.setMode('forbidden');
    const r403 = run(tempStorage(), server.endpoint);
    await rejectsWith(resolveModel(uri, r403.options), 'forbidden', /is gated \(HTTP 403\).*HF_TOKEN/);
    assert.equal(r401.confirms.length + r403.confirms.length, 0);
  });

  it('a cut-off file is reported as incomplete and leaves nothing that looks like a model', async () => {
    server.setMode('truncated');
    const storageDir = tempStorage();
    await rejectsWith(resolveModel(uri, run(storageDir, server.endpoint).options), 'truncated', /is incomplete .* so it was deleted/);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.includes('.gguf')),
      [],
    );
    assert.deepEqual(await readIndex(modelsDirOf(storageDir)), []);

    // The next try, against a healthy server, gets the whole file.
    server.setMode('normal');
    const resolved = await resolveModel(uri, run(storageDir, server.endpoint).options);
    assert.equal(sha256(resolved.path), sha256(tiny));
  });

  it('a file that is not a GGUF is refused and deleted', async () => {
    server.setMode('notGguf');
    const storageDir = tempStorage();
    await rejectsWith(resolveModel(uri, run(storageDir, server.endpoint).options), 'notGguf', /is not a GGUF model .* deleted/);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.includes('.gguf')),
      [],
    );
  });

  it('a declined confirmation downloads nothing', async () => {
    server.setMode('normal');
    server.clearLog();
    const storageDir = tempStorage();
    const r = run(storageDir, server.endpoint, { confirm: async () => false });
    await rejectsWith(resolveModel(uri, r.options), 'declined', /was declined/);
    assert.deepEqual(dataRequests(server), [], 'no model bytes were requested');
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.includes('.gguf')),
      [],
    );
  });

  it('cancelling mid-download stops it and leaves no model behind', async () => {
    server.setMode('slow');
    const storageDir = tempStorage();
    const abort = new AbortController();
    const r = run(storageDir, server.endpoint, {
      signal: abort.signal,
      onProgress: (p) => {
        if (p.downloadedBytes > 0) abort.abort();
      },
    });
    await rejectsWith(resolveModel(uri, r.options), 'cancelled', /was cancelled/);
    assert.deepEqual(
      filesIn(storageDir).filter((f) => f.endsWith('.gguf')),
      [],
    );
    assert.deepEqual(await readIndex(modelsDirOf(storageDir)), []);
  });
});

describe('disk space', () => {
  let server: ModelServer;
  let mountPoint: string | null = null;
  before(async () => {
    server = await startModelServer({ file: tiny });
    const dir = path.join(tempRoot, 'tmpfs');
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
      mountPoint = dir;
    } catch {
      mountPoint = null;
    }
  });
  after(async () => {
    await server.close();
    if (mountPoint) execFileSync('umount', [mountPoint]);
  });

  it('refuses before downloading when the disk lacks room (real 1 MB tmpfs)', async (t) => {
    if (!mountPoint) return t.skip('cannot mount a tmpfs here (needs root); the next test covers the check');
    const storageDir = path.join(mountPoint, 'refuse');
    const r = run(storageDir, server.endpoint);
    server.clearLog();
    await rejectsWith(resolveModel(uri, r.options), 'disk', /Not enough disk space for .* needs .* free/);
    assert.equal(r.confirms.length, 0);
    assert.deepEqual(dataRequests(server), []);
  });

  it('refuses before downloading when the free-space probe says there is no room', async () => {
    const storageDir = tempStorage();
    const r = run(storageDir, server.endpoint, { freeDiskBytes: async () => 100_000 });
    await rejectsWith(resolveModel(uri, r.options), 'disk', /Not enough disk space .* only 98 KB are free/);
    assert.equal(r.confirms.length, 0);
  });

  it('reports a disk that fills up during the download (real 1 MB tmpfs, room overstated)', async (t) => {
    if (!mountPoint) return t.skip('cannot mount a tmpfs here (needs root)');
    // Fill the tmpfs so the 0.5 MB model cannot fit, then pretend there is room.
    const filler = path.join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(700 * 1024));
    const storageDir = path.join(mountPoint, 'fill');
    try {
      const r = run(storageDir, server.endpoint, { freeDiskBytes: async () => 1e12 });
      await rejectsWith(resolveModel(uri, r.options), 'disk', /disk (filled up|is full)/);
      assert.deepEqual(
        filesIn(storageDir).filter((f) => f.endsWith('.gguf')),
        [],
      );
    } finally {
      rmSync(filler, { force: true });
    }
  });
});

describe('two windows, one cache', () => {
  it('waits for the other window holding the download lock, then uses its file without downloading', async () => {
    const storageDir = tempStorage();
    const modelsDir = modelsDirOf(storageDir);
    mkdirSync(modelsDir, { recursive: true });
    const lock = path.join(modelsDir, '.download.lock');
    writeFileSync(lock, String(process.pid)); // a live process holds it
    const dead = await countingDeadPort();
    let waited = false;
    try {
      const pending = resolveModel(uri, run(storageDir, dead.endpoint, { onWaitForOtherDownload: () => (waited = true) }).options);
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(waited, true);
      const file = path.join(modelsDir, 'hf_test-user_tiny-coder-q8_0.gguf');
      copyFileSync(tiny, file);
      await recordDownload(modelsDir, { source: uri, file: path.basename(file), sizeBytes: readFileSync(tiny).length });
      rmSync(lock);
      assert.deepEqual(await pending, { path: file, source: uri, downloaded: false });
      assert.equal(dead.connections, 0);
      assert.equal(existsSync(lock), false);
    } finally {
      await dead.close();
    }
  });
});

describe('local paths', () => {
  it('accepts an absolute path, a ~ path and a file: URI to a valid GGUF, touching no network', async () => {
    const storageDir = tempStorage();
    const dead = await countingDeadPort();
    try {
      const home = os.homedir();
      const inHome = path.join(home, `.local-llm-test-${process.pid}.gguf`);
      copyFileSync(tiny, inHome);
      try {
        for (const setting of [tiny, `~/${path.basename(inHome)}`, new URL(`file://${tiny}`).href]) {
          const r = run(storageDir, dead.endpoint);
          const resolved = await resolveModel(setting, r.options);
          assert.equal(resolved.downloaded, false);
          assert.equal(resolved.source, null);
          assert.ok(resolved.path === tiny || resolved.path === inHome, resolved.path);
          assert.equal(r.confirms.length, 0);
        }
      } finally {
        rmSync(inHome, { force: true });
      }
      assert.equal(dead.connections, 0);
    } finally {
      await dead.close();
    }
  });

  it('says clearly what is wrong with a missing, empty, cut or non-GGUF file, and never deletes it', async () => {
    const broken = await brokenModels(path.join(tempRoot, 'broken'));
    const storageDir = tempStorage();
    const opts = run(storageDir, 'http://127.0.0.1:9/').options;
    await rejectsWith(resolveModel(broken.missing, opts), 'notFound', /does not exist/);
    await rejectsWith(resolveModel(broken.empty, opts), 'notGguf', /not a GGUF model .*empty/);
    await rejectsWith(resolveModel(broken.notGguf, opts), 'notGguf', /not a GGUF model .*signature/);
    await rejectsWith(resolveModel(broken.truncated, opts), 'truncated', /is incomplete/);
    await rejectsWith(resolveModel('models/foo.gguf', opts), 'notFound', /neither an absolute path/);
    await rejectsWith(resolveModel('', opts), 'notFound', /No model is set/);
    for (const f of [broken.empty, broken.notGguf, broken.truncated]) assert.ok(existsSync(f), `${f} is kept`);
  });
});
