// Messages between download.ts (in the language server) and worker.ts (its child).

export type ToWorker =
  | { type: 'start'; uri: string; dirPath: string; endpoint?: string }
  /** Go ahead: the user confirmed and the disk has room. */
  | { type: 'go' }
  | { type: 'stop'; deletePartial: boolean };

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
    }
  | { type: 'progress'; downloadedBytes: number; totalBytes: number | null }
  | { type: 'done'; filePath: string }
  | { type: 'stopped' }
  | { type: 'failed'; status: number | null; code: string | null; message: string };
