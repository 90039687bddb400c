// Turns the `localLlm.model` setting into a local, checked GGUF path. Offline first: a local path
// or a model already in the cache resolves from local files alone, at startup, at wake, always.
// Only a model not yet cached is downloaded, after one confirmation, with progress, resumably.
import { mkdir, rm, stat, statfs } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadModelFile, downloadOrigin } from './download/download';
import { withDownloadLock } from './download/lock';
import { checkGgufFile, type GgufCheck } from './gguf';
import { findCached, modelsDirOf, recordDownload } from './cache';
import { needsInsecureConfirmation } from '../shared/insecureUrl';
import { ModelSetupError } from './setupError';
import { errorMessage } from '../shared/errors';
import { formatBytes } from '../shared/format';
import { parseModelRef } from '../shared/modelRef';

export interface ResolveOptions {
  /** Extension global storage; models go to storageDir/models. */
  storageDir: string;
  signal?: AbortSignal;
  /** No-progress timeout of a download (ours: offline, the downloader can hang). Default 60 s. */
  timeoutMs?: number;
  /** Hugging Face endpoint instead of huggingface.co (tests point it at a local server). */
  endpoint?: string;
  /**
   * Asked once before any download; false declines. `plainHttpHost` is there only when the file
   * comes over plain http from another machine, so the question must name that risk.
   */
  confirm(info: { uri: string; fileName: string; sizeBytes: number | null; plainHttpHost?: string }): Promise<boolean>;
  onProgress(p: { downloadedBytes: number; totalBytes: number | null; bytesPerSecond: number; etaSeconds: number | null }): void;
  /** Called when another window's download of the cache holds the lock and this one waits. */
  onWaitForOtherDownload?(): void;
  /** Free bytes where the models go; defaults to statfs. */
  freeDiskBytes?(dir: string): Promise<number>;
  /** The log, for what the downloader itself said (never shown to the user). */
  log?(line: string): void;
}

export type ResolvedModel = { path: string; source: string | null; downloaded: boolean };

const defaultTimeoutMs = 60_000;
/** Room left beyond the file itself, so a download never fills the disk to the last byte. */
const diskMarginBytes = 64 * 1024 * 1024;

async function statfsFreeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** The absolute path a local setting names: absolute, `~/...` or a file: URI. */
function localPath(setting: string): string {
  if (/^file:/i.test(setting)) {
    try {
      return fileURLToPath(setting);
    } catch {
      throw new ModelSetupError('notFound', `${setting} is not a valid file: URI.`);
    }
  }
  if (setting === '~' || setting.startsWith('~/') || setting.startsWith('~\\')) return path.join(os.homedir(), setting.slice(1));
  if (!path.isAbsolute(setting)) {
    throw new ModelSetupError(
      'notFound',
      `The model setting "${setting}" is neither an absolute path to a .gguf file nor an hf: URI or https URL.`,
    );
  }
  return setting;
}

function localCheckError(filePath: string, check: Extract<GgufCheck, { ok: false }>): ModelSetupError {
  switch (check.problem) {
    case 'missing':
      return new ModelSetupError('notFound', `The model file ${filePath} cannot be used: ${check.detail}.`);
    case 'truncated':
      return new ModelSetupError('truncated', `The model file ${filePath} is incomplete (${check.detail}); download it again.`);
    case 'notGguf':
    case 'unsupported':
      return new ModelSetupError('notGguf', `${filePath} is not a GGUF model llama.cpp can load: ${check.detail}.`);
  }
}

async function resolveLocal(setting: string, signal?: AbortSignal): Promise<ResolvedModel> {
  const filePath = localPath(setting);
  // Bounded in time and stopped by the signal: a path on a mount that hangs must not hold the load.
  const check = await checkGgufFile(filePath, { signal });
  if (!check.ok && check.fault === 'cancelled') throw new ModelSetupError('cancelled', `Checking ${filePath} was cancelled.`);
  if (!check.ok) throw localCheckError(filePath, check);
  return { path: filePath, source: null, downloaded: false };
}

async function download(source: string, modelsDir: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const freeDiskBytes = opts.freeDiskBytes ?? statfsFreeBytes;
  const file = await downloadModelFile(
    { uri: source, dirPath: modelsDir, endpoint: opts.endpoint },
    {
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? defaultTimeoutMs,
      onProgress: opts.onProgress,
      log: opts.log,
      beforeDownload: async (info) => {
        if (info.totalBytes !== null) {
          const needed = info.totalBytes - info.resumedBytes + diskMarginBytes;
          const free = await freeDiskBytes(modelsDir);
          if (free < needed) {
            throw new ModelSetupError(
              'disk',
              `Not enough disk space for ${info.fileName}: it needs ${formatBytes(needed)} and only ${formatBytes(free)} are free in ${modelsDir}.`,
            );
          }
        }
        // The host the bytes come from: the URL's own, or the hub's for an hf: URI; and any
        // redirect on the way (an https URL may lead to plain http) gets the same question.
        const origin = downloadOrigin(source, opts.endpoint);
        const plainHttpHost = needsInsecureConfirmation(origin) ? origin.host : info.plainHttpHost;
        const plainHttp = plainHttpHost !== null ? { plainHttpHost } : {};
        return opts.confirm({ uri: source, fileName: info.fileName, sizeBytes: info.totalBytes, ...plainHttp });
      },
    },
  );
  const check = await checkGgufFile(file.filePath);
  if (!check.ok) {
    // Nothing that failed the check may stay in the cache looking like a model.
    await rm(file.filePath, { force: true });
    if (check.problem === 'truncated') {
      throw new ModelSetupError(
        'truncated',
        `The downloaded ${file.fileName} is incomplete (${check.detail}), so it was deleted; the server sent a cut-off file, try again later.`,
      );
    }
    throw new ModelSetupError('notGguf', `${source} is not a GGUF model (${check.detail}), so the downloaded file was deleted.`);
  }
  const { size } = await stat(file.filePath);
  await recordDownload(modelsDir, {
    source,
    file: path.basename(file.filePath),
    sizeBytes: size,
    sha256: file.sha256,
    verifiedBy: file.verifiedBy,
  });
  return { path: file.filePath, source, downloaded: true };
}

/**
 * The local GGUF file for a model setting (a path, `~/...`, a file: URI, an hf: URI or an
 * http(s) URL). Throws ModelSetupError with one sentence for the user.
 */
export async function resolveModel(setting: string, opts: ResolveOptions): Promise<ResolvedModel> {
  if (setting.trim() === '') throw new ModelSetupError('notFound', 'No model is set; choose one with "Local LLM: Select Model".');
  const parsed = parseModelRef(setting);
  if (!parsed.ok) throw new ModelSetupError('notFound', `The model setting "${setting.trim()}" cannot be used: ${parsed.problem}`);
  if (parsed.ref.kind === 'local') return resolveLocal(parsed.ref.text, opts.signal);

  const source = parsed.ref.source;
  const modelsDir = modelsDirOf(opts.storageDir);
  const cached = await findCached(modelsDir, source);
  if (cached) return { path: cached.path, source, downloaded: false };

  await mkdir(modelsDir, { recursive: true });
  try {
    return await withDownloadLock(
      modelsDir,
      opts.signal,
      () => opts.onWaitForOtherDownload?.(),
      async () => {
        // Another window may have fetched it while this one waited.
        const now = await findCached(modelsDir, source);
        return now ? { path: now.path, source, downloaded: false } : download(source, modelsDir, opts);
      },
    );
  } catch (err) {
    if (err instanceof ModelSetupError) throw err;
    if (opts.signal?.aborted) throw new ModelSetupError('cancelled', `Getting ${source} was cancelled.`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new ModelSetupError('disk', `The disk is full, so ${source} cannot be stored in ${modelsDir}.`);
    throw new ModelSetupError('download', `Getting ${source} failed: ${errorMessage(err)}`);
  }
}
