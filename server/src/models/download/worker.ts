// Child process that runs node-llama-cpp's own downloader for one file, so the language server
// never loads node-llama-cpp (~40 MB and 0.4 s) and a download that hangs offline, ignoring its
// AbortSignal, ends with this process instead of lingering in the server.
// Speaks the messages of downloadMessages.ts over the Node IPC channel.
import type { ModelDownloader } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { ToWorker, FromWorker } from './messages';
import { hfFileUrl, parseModelRef } from '../../shared/modelRef';
import { hubEndpoint } from './hub';
import { errorMessage } from '../../shared/errors';

const progressIntervalMs = 200;

let downloader: ModelDownloader | null = null;

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function failure(err: unknown): FromWorker {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const statusFromMessage = typeof e.message === 'string' ? /\b(4\d\d|5\d\d)\b/.exec(e.message)?.[1] : undefined;
  const status = typeof e.statusCode === 'number' ? e.statusCode : statusFromMessage ? Number(statusFromMessage) : null;
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : null;
  const message = errorMessage(err);
  const notFound = /does not exist/.test(message) && status === null;
  return { type: 'failed', status: notFound ? 404 : status, code, message };
}

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { createModelDownloader } = await import('node-llama-cpp');
  await send({ type: 'ready' });
  let lastSent = 0;
  downloader = await createModelDownloader({
    modelUri: message.uri,
    dirPath: message.dirPath,
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
  if (downloader.totalSize <= 0) await assertExists(message.uri, message.endpoint);
  await send({
    type: 'info',
    fileName: downloader.entrypointFilename,
    filePath: downloader.entrypointFilePath,
    totalBytes: downloader.totalSize > 0 ? downloader.totalSize : null,
    downloadedBytes: downloader.downloadedSize,
    totalFiles: downloader.totalFiles,
  });
}

/** The file's URL, for hf: URIs that name a file and for plain URLs; null for hf:user/repo:quant. */
function directUrl(uri: string, endpoint: string | undefined): string | null {
  const parsed = parseModelRef(uri);
  if (!parsed.ok) return null;
  if (parsed.ref.kind === 'hf') return hfFileUrl(parsed.ref, hubEndpoint(endpoint));
  return parsed.ref.kind === 'url' ? parsed.ref.url.href : null;
}

/**
 * ipull takes a 404 on its size request for "this server has no HEAD" and goes on with an
 * unknown size, so the user would be asked to confirm a file that is not there. Ask once more.
 */
async function assertExists(uri: string, endpoint: string | undefined): Promise<void> {
  const url = directUrl(uri, endpoint);
  if (!url) return;
  const parsed = parseModelRef(uri);
  const token = parsed.ok && parsed.ref.kind === 'hf' ? process.env.HF_TOKEN : undefined;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, { method: 'HEAD', headers, redirect: 'follow', signal: AbortSignal.timeout(15_000) });
  if (res.status === 404 || res.status === 410 || res.status === 401 || res.status === 403) {
    throw Object.assign(new Error(`HTTP ${res.status} for ${url}`), { statusCode: res.status });
  }
}

async function go(): Promise<void> {
  if (!downloader) throw new Error('The download was not started.');
  const filePath = await downloader.download();
  await send({ type: 'done', filePath });
}

async function stop(deletePartial: boolean): Promise<void> {
  // cancel() can itself wait on a hung request; the parent kills this process if it takes long.
  await downloader?.cancel({ deleteTempFile: deletePartial });
  await send({ type: 'stopped' });
}

process.on('message', (raw: ToWorker) => {
  const run =
    raw.type === 'start' ? start(raw) : raw.type === 'go' ? go() : raw.type === 'stop' ? stop(raw.deletePartial) : null;
  run?.then(
    () => {
      if (raw.type === 'stop' || raw.type === 'go') process.exit(0);
    },
    async (err: unknown) => {
      await send(failure(err));
      process.exit(1);
    },
  );
});

process.on('disconnect', () => process.exit(0));

// ipull lets some write errors (ENOSPC) escape as unhandled rejections; report them, then end.
const fatal = async (err: unknown): Promise<void> => {
  await send(failure(err));
  process.exit(1);
};
process.on('unhandledRejection', (err) => void fatal(err));
process.on('uncaughtException', (err) => void fatal(err));
