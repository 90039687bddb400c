// Messages between download.ts (in the language server) and worker.ts (its child).

export type ToWorker =
  | { type: 'start'; uri: string; dirPath: string; endpoint?: string }
  /** Go ahead: the user confirmed and the disk has room. */
  | { type: 'go' }
  | { type: 'stop'; deletePartial: boolean };

/** Failures the worker recognised itself; each has its own sentence in download.ts. */
export type FailureReason =
  /** A redirect to a URL that is not http(s), such as file:. */
  | { kind: 'redirectScheme'; scheme: string }
  | { kind: 'redirectLoop' }
  | { kind: 'redirectTooMany'; hops: number }
  /** The server answered a request for part of the file with HTTP 200 (the file from its start). */
  | { kind: 'rangeIgnored'; host: string }
  /** The server cut a whole-file stream and, not doing byte ranges, could only send it again from its first byte. */
  | { kind: 'cutWithoutRanges'; host: string }
  /** After the user confirmed, the download was redirected to a plain-http host they were not asked about. */
  | { kind: 'plainHttpHop'; host: string };

export type FromWorker =
  /** node-llama-cpp is loaded; network time starts now. */
  | { type: 'ready' }
  | {
      type: 'info';
      fileName: string;
      filePath: string;
      /** null when the server did not say. */
      totalBytes: number | null;
      /** Already on disk from an earlier, interrupted try. */
      downloadedBytes: number;
      /** More than 1 for a model split into several GGUF files. */
      totalFiles: number;
      /** The sha256 the hub publishes for the file (Hugging Face's x-linked-etag), lower-case hex; null when none. */
      hubSha256: string | null;
      /** A plain-http host off this machine that a redirect leads to (the first), or null. */
      plainHttpHost: string | null;
    }
  | { type: 'progress'; downloadedBytes: number; totalBytes: number | null }
  /** All bytes are on disk; the worker is reading the file back to hash it. */
  | { type: 'verifying'; hashedBytes: number; totalBytes: number }
  /** The file is complete; `sha256` is its content's, lower-case hex. */
  | { type: 'done'; filePath: string; sha256: string }
  | { type: 'stopped' }
  | {
      type: 'failed';
      status: number | null;
      code: string | null;
      /** The library's own text: for the log only, never shown to the user. */
      message: string;
      reason: FailureReason | null;
    };
