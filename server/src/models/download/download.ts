// Downloads one model file with node-llama-cpp's own downloader, run in a short-lived child
// (worker.ts): importing node-llama-cpp would add ~40 MB and 0.4 s to the language
// server for good, and offline its downloads were seen to hang for minutes and ignore their
// AbortSignal (llama-facts.md). Here the timeout is ours, and ending the child ends the download.
// The finished file's content is checked against the sha256 the hub publishes (or the URL's
// #sha256= fragment): a file that differs is deleted, never loaded.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { FailureReason, FromWorker, ToWorker } from './messages';
import { checkGgufFile } from '../gguf';
import { isModelFileName } from './fileName';
import { partialSuffix } from '../cache';
import { ModelSetupError } from '../setupError';
import { parseModelRef } from '../../shared/modelRef';
import { hubEndpoint, urlFragmentSha256 } from './hub';

export interface DownloadTarget {
  /** hf: URI or http(s) URL. */
  uri: string;
  dirPath: string;
  /** Hugging Face endpoint to use instead of huggingface.co (tests use a local server). */
  endpoint?: string;
}

export interface DownloadInfo {
  fileName: string;
  filePath: string;
  totalBytes: number | null;
  /** Already on disk from an interrupted earlier try; the download resumes after it. */
  resumedBytes: number;
  /** A plain-http host off this machine that a redirect on the way to the file leads to, or null. */
  plainHttpHost: string | null;
}

export interface DownloadProgress {
  downloadedBytes: number;
  totalBytes: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface DownloadControl {
  signal?: AbortSignal;
  /** Give up when this long passes without a new byte (or without an answer before the first). */
  timeoutMs: number;
  /** Called once the file name and size are known, before any model byte is fetched; false declines. */
  beforeDownload(info: DownloadInfo): Promise<boolean>;
  onProgress(p: DownloadProgress): void;
  /** Where the downloader's own words go (the log): they are never shown to the user. Default: stderr, which the editor logs. */
  log?(line: string): void;
}

export interface DownloadedFile {
  filePath: string;
  fileName: string;
  sizeBytes: number;
  /** The content's sha256, lower-case hex. */
  sha256: string;
  /** Who published the sha256 it matched: the hub, the URL's #sha256= fragment, or nobody. */
  verifiedBy: 'hub' | 'url' | null;
}

/** How long a stopping worker gets to save its resume state before it is killed. */
const stopGraceMs = 3000;
const speedWindowMs = 5000;
/** Starting the child and loading node-llama-cpp, before any network time counts. */
const startupLimitMs = 30_000;

/** The host a download talks to first: the Hugging Face endpoint for hf: URIs, else the URL's. */
export function downloadOrigin(uri: string, endpoint?: string): URL {
  const parsed = parseModelRef(uri);
  if (parsed.ok && parsed.ref.kind === 'hf') return new URL(hubEndpoint(endpoint));
  return new URL(uri);
}

const offlineCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** Fails fast, with a sentence, when the host cannot be reached at all (one TCP connect, no request). */
async function assertReachable(uri: string, origin: URL, timeoutMs: number): Promise<void> {
  const port = Number(origin.port) || (origin.protocol === 'http:' ? 80 : 443);
  const code = await new Promise<string | null>((resolve) => {
    const socket = net.connect({ host: origin.hostname, port });
    socket.setTimeout(Math.min(timeoutMs, 10_000), () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
  });
  if (code !== null && offlineCodes.has(code)) {
    throw new ModelSetupError(
      'offline',
      `${origin.host} cannot be reached (${code}) and ${uri} is not downloaded yet; connect to the network or choose a local .gguf file.`,
    );
  }
}

function workerEntry(): { file: string; execArgv: string[]; cwd: string | undefined } {
  const bundled = path.join(__dirname, 'downloadWorker.js');
  if (existsSync(bundled)) return { file: bundled, execArgv: [], cwd: undefined };
  // Running from source (tests): the worker is TypeScript too.
  const source = path.join(__dirname, 'worker.ts');
  if (!existsSync(source)) {
    throw new ModelSetupError('download', `The model downloader is missing (${bundled}); reinstall the extension.`);
  }
  return {
    file: source,
    execArgv: ['--import', 'tsx'],
    cwd: path.resolve(__dirname, '..', '..', '..', '..'),
  };
}

class Timeout extends Error {}
class Aborted extends Error {}

/** The worker's messages as a queue the download loop can await, with a no-progress deadline. */
class WorkerSession {
  private readonly queue: FromWorker[] = [];
  private wake: (() => void) | null = null;
  private exited = false;
  private stderr = '';
  deadline = 0;

  constructor(
    readonly child: ChildProcess,
    private readonly signal: AbortSignal | undefined,
  ) {
    child.on('message', (m: FromWorker) => {
      this.queue.push(m);
      this.wake?.();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    child.once('exit', () => {
      this.exited = true;
      this.wake?.();
    });
    child.once('error', () => {
      this.exited = true;
      this.wake?.();
    });
  }

  send(m: ToWorker): void {
    if (this.child.connected) this.child.send(m);
  }

  get lastError(): string {
    return this.stderr.trim().split('\n').slice(-3).join(' ');
  }

  /** The next message; throws Timeout past the deadline, Aborted on the signal. */
  async next(useDeadline: boolean): Promise<FromWorker | 'exited'> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      if (this.exited) return 'exited';
      if (this.signal?.aborted) throw new Aborted();
      const wait = useDeadline ? this.deadline - Date.now() : Infinity;
      if (wait <= 0) throw new Timeout();
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.signal?.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        const timer = Number.isFinite(wait) ? setTimeout(done, wait) : undefined;
        this.signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
  }

  private get gone(): boolean {
    return this.exited || this.child.killed || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Asks the worker to stop (saving its resume state), then kills it if it does not. */
  async stop(deletePartial: boolean): Promise<void> {
    if (this.gone) return;
    this.send({ type: 'stop', deletePartial });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, stopGraceMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.kill();
  }

  kill(): void {
    if (!this.gone) this.child.kill('SIGKILL');
  }
}

function reasonError(uri: string, fileName: string, reason: FailureReason): ModelSetupError {
  switch (reason.kind) {
    case 'redirectScheme':
      return reason.scheme === 'invalid'
        ? new ModelSetupError('redirect', `${uri} redirects to an address that is not a valid URL, so it cannot be downloaded.`)
        : new ModelSetupError(
            'redirect',
            `${uri} redirects to a ${reason.scheme} URL, which is not allowed; only http and https are followed.`,
          );
    case 'redirectLoop':
      return new ModelSetupError('redirect', `${uri} redirects in a loop, so it cannot be downloaded; check the URL.`);
    case 'redirectTooMany':
      return new ModelSetupError('redirect', `${uri} redirects more than ${reason.hops} times, so it cannot be downloaded; check the URL.`);
    case 'cutWithoutRanges':
      return new ModelSetupError(
        'rangeIgnored',
        `${reason.host} cut the download of ${fileName} and cannot resume it (it does not send byte ranges), so the download was stopped before anything was written in the wrong place; try again (the next try starts from the beginning), or download the file another way and choose it as a local file.`,
      );
    case 'plainHttpHop':
      return new ModelSetupError(
        'redirect',
        `${uri} was redirected during the download to plain http at ${reason.host}, which was not confirmed, so the download was stopped; try again to be asked about it.`,
      );
    case 'rangeIgnored':
      return new ModelSetupError(
        'rangeIgnored',
        `${reason.host} did not send the part of ${fileName} that was asked for (it ignores byte ranges, which resuming and parallel downloads need), so the download was stopped before anything was written in the wrong place; try again later, or download the file another way and choose it as a local file.`,
      );
  }
}

function failureError(
  uri: string,
  fileName: string,
  m: Extract<FromWorker, { type: 'failed' }>,
  log: (line: string) => void,
): ModelSetupError {
  log(`The downloader of ${uri} failed: ${m.message}`);
  if (m.reason) return reasonError(uri, fileName, m.reason);
  if (m.code === 'ENOSPC') {
    return new ModelSetupError(
      'disk',
      `The disk filled up while downloading ${fileName}; free some space and try again (the download resumes).`,
    );
  }
  switch (m.status) {
    case 404:
      return new ModelSetupError('http404', `${uri} was not found (HTTP 404); check the user, repository and file name.`);
    case 401:
      return new ModelSetupError(
        'unauthorized',
        `${uri} needs a Hugging Face token (HTTP 401): the model is private or gated, so accept its terms on its Hugging Face page and set HF_TOKEN, or choose another model.`,
      );
    case 403:
      return new ModelSetupError(
        'forbidden',
        `${uri} is gated (HTTP 403): your Hugging Face account has not been granted access, so accept its terms on its Hugging Face page, set HF_TOKEN, or choose another model.`,
      );
  }
  if (m.code && offlineCodes.has(m.code)) {
    return new ModelSetupError('offline', `The connection was lost while fetching ${uri} (${m.code}); try again when online.`);
  }
  // The library's text is for developers (one of its errors suggests a browser option): log only.
  const what = m.status !== null ? ` (HTTP ${m.status})` : m.code ? ` (${m.code})` : '';
  return new ModelSetupError('download', `The download of ${uri} failed${what}; the details are in the Local LLM log.`);
}

/** Speed over the last few seconds and the time left, from the bytes seen so far. */
class SpeedMeter {
  private readonly samples: { t: number; bytes: number }[] = [];
  constructor(startBytes: number) {
    this.samples.push({ t: Date.now(), bytes: startBytes });
  }
  add(bytes: number, total: number | null): DownloadProgress {
    const now = Date.now();
    this.samples.push({ t: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1].t > speedWindowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.max(0, (bytes - first.bytes) / seconds) : 0;
    const etaSeconds = total !== null && bytesPerSecond > 0 ? Math.max(0, (total - bytes) / bytesPerSecond) : null;
    return { downloadedBytes: bytes, totalBytes: total, bytesPerSecond, etaSeconds };
  }
}

/** `promise`, or Aborted as soon as `signal` aborts (the promise itself is left to settle). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Aborted());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The sha256 a URL's `#sha256=<hex>` fragment names, or null; a fragment that is not one is refused. */
function fragmentSha256(uri: string): string | null {
  const parsed = parseModelRef(uri);
  if (!parsed.ok || parsed.ref.kind !== 'url') return null;
  const sha256 = urlFragmentSha256(parsed.ref.url);
  if (sha256 === 'invalid') {
    throw new ModelSetupError('notFound', `The model setting "${uri}" cannot be used: its #sha256= part must be 64 hexadecimal digits.`);
  }
  return sha256;
}

/** `host` published the sha256 the file failed; null when the URL's fragment named it. */
function mismatchError(uri: string, fileName: string, host: string | null): ModelSetupError {
  return host === null
    ? new ModelSetupError(
        'mismatch',
        `The downloaded ${fileName} does not match the sha256 in ${uri}, so it was deleted; check the hash and where the file comes from.`,
      )
    : new ModelSetupError(
        'mismatch',
        `The downloaded ${fileName} does not match the sha256 that ${host} publishes for it, so it was deleted; it was changed or damaged on the way, try again later.`,
      );
}

/**
 * Downloads `target.uri` into `target.dirPath` and checks the content against the published
 * sha256. Throws ModelSetupError: offline, http404, unauthorized, forbidden, redirect,
 * rangeIgnored, mismatch, disk, timeout, cancelled, declined, download. A partial file is kept on
 * timeout and cancel so the next call resumes; the caller checks the finished file is a GGUF.
 */
export async function downloadModelFile(target: DownloadTarget, control: DownloadControl): Promise<DownloadedFile> {
  const { uri } = target;
  const seconds = Math.round(control.timeoutMs / 1000);
  const log = (line: string): void => (control.log ? control.log(line) : console.error(line));
  const urlSha256 = fragmentSha256(uri);
  await assertReachable(uri, downloadOrigin(uri, target.endpoint), control.timeoutMs);
  if (control.signal?.aborted) throw new ModelSetupError('cancelled', `The download of ${uri} was cancelled.`);

  const entry = workerEntry();
  const child = fork(entry.file, [], {
    execArgv: entry.execArgv,
    cwd: entry.cwd,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const session = new WorkerSession(child, control.signal);
  const stoppedError = (): ModelSetupError => {
    log(`The downloader of ${uri} stopped: ${session.lastError}`);
    return new ModelSetupError('download', `The downloader for ${uri} stopped unexpectedly; the details are in the Local LLM log.`);
  };
  let fileName = uri;
  let finalPath: string | null = null;
  /** The server cannot resume what it cut: the next try starts from byte 0. */
  let startOver = false;
  try {
    session.deadline = Date.now() + Math.max(startupLimitMs, control.timeoutMs);
    session.send({ type: 'start', uri, dirPath: target.dirPath, endpoint: target.endpoint });
    let first = await session.next(true);
    if (first !== 'exited' && first.type === 'ready') {
      session.deadline = Date.now() + control.timeoutMs;
      first = await session.next(true);
    }
    if (first === 'exited') throw stoppedError();
    if (first.type === 'failed') throw failureError(uri, fileName, first, log);
    if (first.type !== 'info') throw new ModelSetupError('download', `The downloader for ${uri} answered out of order.`);
    if (!isModelFileName(first.fileName) || path.dirname(path.resolve(first.filePath)) !== path.resolve(target.dirPath)) {
      throw new ModelSetupError(
        'download',
        `${uri} would be stored as "${first.fileName}", which is not a plain .gguf file name in the model cache, so it is not downloaded; choose the file by a URL or hf: URI that names a .gguf file.`,
      );
    }
    fileName = first.fileName;
    finalPath = first.filePath;
    if (first.totalFiles > 1) {
      throw new ModelSetupError(
        'download',
        `${uri} is split into ${first.totalFiles} files, which is not supported yet; choose a single-file GGUF.`,
      );
    }
    const info: DownloadInfo = {
      fileName: first.fileName,
      filePath: first.filePath,
      totalBytes: first.totalBytes,
      resumedBytes: first.downloadedBytes,
      plainHttpHost: first.plainHttpHost,
    };
    const expectedSha256 = urlSha256 ?? first.hubSha256;
    const verifiedBy = urlSha256 !== null ? 'url' : first.hubSha256 !== null ? 'hub' : null;
    const confirmed = await abortable(control.beforeDownload(info), control.signal);
    if (!confirmed) {
      await session.stop(info.resumedBytes === 0);
      throw new ModelSetupError('declined', `The download of ${fileName} was declined, so no model is loaded.`);
    }

    const meter = new SpeedMeter(info.resumedBytes);
    let downloaded = info.resumedBytes;
    let hashed = 0;
    session.deadline = Date.now() + control.timeoutMs;
    session.send({ type: 'go' });
    // Shown at once, so a resumed download starts its progress bar where it left off.
    control.onProgress(meter.add(downloaded, info.totalBytes));
    for (;;) {
      const m = await session.next(true);
      if (m === 'exited') throw stoppedError();
      if (m.type === 'failed') {
        startOver = m.reason?.kind === 'cutWithoutRanges';
        throw failureError(uri, fileName, m, log);
      }
      if (m.type === 'done') {
        if (expectedSha256 !== null && m.sha256 !== expectedSha256) {
          await rm(m.filePath, { force: true });
          log(`${fileName} from ${uri} has sha256 ${m.sha256}, but ${expectedSha256} was published for it.`);
          throw mismatchError(uri, fileName, verifiedBy === 'url' ? null : downloadOrigin(uri, target.endpoint).host);
        }
        const total = info.totalBytes ?? downloaded;
        control.onProgress(meter.add(total, total));
        return { filePath: m.filePath, fileName, sizeBytes: total, sha256: m.sha256, verifiedBy };
      }
      if (m.type === 'verifying' && m.hashedBytes > hashed) {
        // Reading a multi-GB file back takes a while; it counts as progress.
        hashed = m.hashedBytes;
        session.deadline = Date.now() + control.timeoutMs;
      }
      if (m.type === 'progress' && m.downloadedBytes > downloaded) {
        // ipull's count can step back when a cut stream restarts its chunk; the user sees no step back.
        downloaded = m.downloadedBytes;
        session.deadline = Date.now() + control.timeoutMs;
        control.onProgress(meter.add(downloaded, m.totalBytes ?? info.totalBytes));
      }
    }
  } catch (err) {
    await session.stop(false);
    // A failed write can leave a cut file under the model's own name (resume state lives only
    // in the .ipull file); nothing incomplete may look like a model.
    if (finalPath && !(await checkGgufFile(finalPath)).ok) await rm(finalPath, { force: true });
    // A stream that cannot be resumed leaves nothing worth resuming.
    if (finalPath && startOver) await rm(finalPath + partialSuffix, { force: true });
    if (err instanceof Timeout) {
      throw new ModelSetupError(
        'timeout',
        `The download of ${fileName} made no progress for ${seconds} s and was stopped; what arrived is kept and the next try resumes.`,
      );
    }
    if (err instanceof Aborted) {
      throw new ModelSetupError('cancelled', `The download of ${fileName} was cancelled; what arrived is kept and the next try resumes.`);
    }
    throw err;
  } finally {
    session.kill();
  }
}
