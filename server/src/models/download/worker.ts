// Child process that runs node-llama-cpp's own downloader for one file, so the language server
// never loads node-llama-cpp (~40 MB and 0.4 s) and a download that hangs offline, ignoring its
// AbortSignal, ends with this process instead of lingering in the server. It also checks the URL
// first (probe.ts), watches the downloader's answers (fetchWatch.ts), names the file itself
// (fileName.ts), and hashes the finished file, so a multi-GB read never runs on the server's event
// loop and ends when this process is stopped.
// Speaks the messages of messages.ts over the Node IPC channel.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ModelDownloader } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { ToWorker, FromWorker } from './messages';
import { errorMessage } from '../../shared/errors';
import { parseModelRef } from '../../shared/modelRef';
import { hubEndpoint } from './hub';
import { downloadUri, ProbeFailure, probeModelUrl } from './probe';
import { FetchWatch, type Verdict } from './fetchWatch';
import { urlCacheFileName } from './fileName';

const progressIntervalMs = 200;

let downloader: ModelDownloader | null = null;
/** The host the model's bytes come from, for sentences about its answers. */
let fileHost = '';
/** Plain-http hosts the probe's redirects went through; the user is asked about them before 'go'. */
const probeHosts: string[] = [];

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Reports a failure and ends this process (and with it every request of the download). */
async function end(message: FromWorker): Promise<never> {
  await send(message);
  process.exit(1);
}

function failure(err: unknown): FromWorker {
  if (err instanceof ProbeFailure) return { type: 'failed', status: null, code: null, message: err.message, reason: err.reason };
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const message = errorMessage(err);
  // ipull's answer to a part of the file that is not the length it asked for.
  if (/^Expected \d+ bytes, but got \S+ bytes/.test(message)) {
    return { type: 'failed', status: null, code: null, message, reason: { kind: 'rangeIgnored', host: fileHost } };
  }
  const statusFromMessage = typeof e.message === 'string' ? /\b(4\d\d|5\d\d)\b/.exec(e.message)?.[1] : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : statusFromMessage ? Number(statusFromMessage) : null;
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : null;
  const notFound = /does not exist/.test(message) && status === null;
  return { type: 'failed', status: notFound ? 404 : status, code, message, reason: null };
}

/** The start offset of a request's Range header, or null without one. */
function rangeStart(input: string | URL | Request, init: RequestInit | undefined): number | null {
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  const m = /^bytes=(\d+)-/.exec(headers.get('range') ?? '');
  return m ? Number(m[1]) : null;
}

const watch = new FetchWatch();

function refuse(verdict: Extract<Verdict, { ok: false }>): Promise<never> {
  return end({ type: 'failed', status: null, code: null, message: verdict.message, reason: verdict.reason });
}

/**
 * Every fetch of this process passes here (see fetchWatch.ts): an answer that would put bytes
 * where the server did not say they belong ends the download before ipull reads a byte of it.
 */
function watchFetches(): void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await original(input, init);
    const from = rangeStart(input, init);
    const verdict = watch.answer(from, res);
    if (!verdict.ok) {
      void res.body?.cancel().catch(() => undefined);
      return refuse(verdict);
    }
    const body = res.body;
    if (res.status === 200 && from === null && body) {
      // ipull reads its data through getReader; an answer it only looks at (the size) is never read.
      const getReader = body.getReader.bind(body) as () => ReadableStreamDefaultReader<Uint8Array>;
      Object.defineProperty(body, 'getReader', {
        value: () => {
          const read = watch.readWhole(res.url);
          if (read.ok) return getReader();
          void refuse(read);
          // Nothing is ever read from it while this process ends.
          return new ReadableStream<Uint8Array>().getReader();
        },
      });
    }
    return res;
  };
}

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { createModelDownloader } = await import('node-llama-cpp');
  await send({ type: 'ready' });
  const uri = downloadUri(message.uri);
  const parsed = parseModelRef(uri);
  fileHost = parsed.ok && parsed.ref.kind === 'url' ? parsed.ref.url.host : new URL(hubEndpoint(message.endpoint)).host;
  const probe = await probeModelUrl(message.uri, message.endpoint);
  if (probe.plainHttpHost !== null) probeHosts.push(probe.plainHttpHost);
  watchFetches();
  let lastSent = 0;
  downloader = await createModelDownloader({
    modelUri: uri,
    dirPath: message.dirPath,
    // The cache names its files itself; a server's Content-Disposition never does.
    fileName: parsed.ok && parsed.ref.kind === 'url' ? urlCacheFileName(parsed.ref.url) : undefined,
    endpoints: message.endpoint ? { huggingFace: message.endpoint } : undefined,
    // A cut download keeps its partial file, so the next try resumes where it stopped.
    deleteTempFileOnCancel: false,
    onProgress: ({ downloadedSize, totalSize }) => {
      const now = Date.now();
      if (now - lastSent < progressIntervalMs && downloadedSize < totalSize) return;
      lastSent = now;
      void send({ type: 'progress', downloadedBytes: downloadedSize, totalBytes: totalSize > 0 ? totalSize : null });
    },
  });
  await send({
    type: 'info',
    fileName: downloader.entrypointFilename,
    filePath: downloader.entrypointFilePath,
    totalBytes: downloader.totalSize > 0 ? downloader.totalSize : null,
    downloadedBytes: downloader.downloadedSize,
    totalFiles: downloader.totalFiles,
    hubSha256: probe.hubSha256,
    plainHttpHost: probe.plainHttpHost ?? watch.plainHttpHosts[0] ?? null,
  });
}

/** The file's sha256, read as a stream, reporting how far it got. */
async function hashFile(filePath: string): Promise<string> {
  const { size } = await stat(filePath);
  const hash = createHash('sha256');
  let hashed = 0;
  let lastSent = Date.now();
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    hashed += (chunk as Buffer).length;
    if (Date.now() - lastSent >= progressIntervalMs) {
      lastSent = Date.now();
      void send({ type: 'verifying', hashedBytes: hashed, totalBytes: size });
    }
  }
  return hash.digest('hex');
}

async function go(): Promise<void> {
  if (!downloader) throw new Error('The download was not started.');
  watch.confirmPlainHttp(probeHosts);
  const filePath = await downloader.download();
  await send({ type: 'done', filePath, sha256: await hashFile(filePath) });
}

async function stop(deletePartial: boolean): Promise<void> {
  // cancel() can itself wait on a hung request; the parent kills this process if it takes long.
  await downloader?.cancel({ deleteTempFile: deletePartial });
  await send({ type: 'stopped' });
}

process.on('message', (raw: ToWorker) => {
  const run = raw.type === 'start' ? start(raw) : raw.type === 'go' ? go() : raw.type === 'stop' ? stop(raw.deletePartial) : null;
  run?.then(
    () => {
      if (raw.type === 'stop' || raw.type === 'go') process.exit(0);
    },
    (err: unknown) => end(failure(err)),
  );
});

process.on('disconnect', () => process.exit(0));

// ipull lets some write errors (ENOSPC) escape as unhandled rejections; report them, then end.
process.on('unhandledRejection', (err) => void end(failure(err)));
process.on('uncaughtException', (err) => void end(failure(err)));
