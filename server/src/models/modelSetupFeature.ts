// Model setup over LSP: turns the model settings into local files (asking before any download,
// with cancellable work-done progress), and serves the cache listing and deletion. With both
// model settings empty, a new user gets the models recommended for this machine: a base model for
// completions and an Instruct model for chat where two fit, else one Instruct model for both.
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ErrorCodes,
  ResponseError,
  type Connection,
  type InitializeParams,
  type ServerCapabilities,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import type { Feature } from '../feature';
import { errorMessage } from '../shared/errors';
import { DeleteModelRequest, ListModelsRequest, type InitializationOptions, type ListModelsResult } from '../shared/protocol';
import { deleteModel, listModels } from './cache';
import { stateDirOf } from '../shared/stateFiles';
import { pairsFor, presetsFor, recommendModels, type Hardware, type Recommendation } from './presets';
import { resolveModel, type ResolveOptions } from './resolve';
import { ModelSetupError } from './setupError';
import { formatBytes } from '../shared/format';

export interface ModelSetupOptions {
  connection: Connection;
  log(line: string): void;
  inUsePaths(): string[];
  /** Free VRAM as the model host last saw it; null without a GPU. */
  vramFreeBytes(): number | null;
  /** Override of the download endpoint (tests point it at a local server). */
  endpoint?: string;
}

const downloadTimeoutMs = 60_000;

export type ModelRole = 'completion' | 'chat';

export class ModelSetupFeature implements Feature {
  private storageDir = path.join(os.homedir(), '.cache', 'local-llm');
  /** The defaults chosen at the first empty setting, kept so that the chat model matches the completion model picked before it loaded (and took VRAM). */
  private defaults: Recommendation | null = null;
  /** The user declined the default chat model's download: the completion model serves chat this session, asked no more. */
  private defaultChatDeclined = false;

  constructor(private readonly options: ModelSetupOptions) {}

  /** Where the sequences' state is kept across sleep. */
  get stateDir(): string {
    return stateDirOf(this.storageDir);
  }

  initialize(params: InitializeParams): ServerCapabilities {
    const { connection } = this.options;
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.storageDir === 'string') this.storageDir = init.storageDir;

    connection.onRequest(ListModelsRequest.type, async (): Promise<ListModelsResult> => {
      const cached = await listModels(this.storageDir);
      const hw = this.hardware();
      const recommended = recommendModels(hw);
      return {
        cached,
        presets: presetsFor(hw),
        recommendedPresetId: recommended.completion.id,
        pairs: pairsFor(hw),
        recommendedPairId: recommended.pair?.id ?? null,
        recommendationReason: recommended.reason,
      };
    });

    connection.onRequest(DeleteModelRequest.type, async (request: unknown) => {
      if (typeof request !== 'object' || request === null || typeof (request as { path?: unknown }).path !== 'string') {
        throw new ResponseError(ErrorCodes.InvalidParams, 'localLlm/deleteModel needs a path (a string).');
      }
      try {
        await deleteModel(this.storageDir, (request as { path: string }).path, this.options.inUsePaths());
      } catch (err) {
        throw new ResponseError(ErrorCodes.InternalError, errorMessage(err));
      }
    });
    return {};
  }

  private hardware(): Hardware {
    return { vramFreeBytes: this.options.vramFreeBytes(), ramFreeBytes: os.freemem() };
  }

  private recommended(): Recommendation {
    this.defaults ??= recommendModels(this.hardware());
    return this.defaults;
  }

  /**
   * The local, checked GGUF for a model setting; an empty one means the model recommended for the
   * role: for completions the pair's base model (or the one model), for chat the pair's Instruct
   * model (or the same one model). The driver asks for chat with an empty setting only when
   * localLlm.model is empty too: otherwise that model serves chat, as before roles existed.
   */
  async resolve(setting: string, signal: AbortSignal, role: ModelRole = 'completion'): Promise<string> {
    const { connection, log } = this.options;
    const endpoint = this.options.endpoint ?? process.env.LOCAL_LLM_HF_ENDPOINT;
    const storageDir = this.storageDir;
    const recommendation = setting ? null : this.recommended();
    if (recommendation && role === 'chat' && this.defaultChatDeclined) return this.resolve('', signal, 'completion');
    const target = recommendation ? recommendation[role].uri : setting;
    // The progress notification exists only while a download runs: a cached model shows none.
    let progress: Promise<WorkDoneProgressServerReporter> | null = null;
    const cancelled = new AbortController();
    const report = (percent: number | undefined, message: string): void => {
      if (!progress) {
        progress = connection.window.createWorkDoneProgress().then((p) => {
          p.token.onCancellationRequested(() => cancelled.abort());
          p.begin('Local LLM: downloading the model', percent, message, true);
          return p;
        });
      } else void progress.then((p) => p.report(percent ?? 0, message));
    };
    const resolveOptions: ResolveOptions = {
      storageDir,
      endpoint,
      log,
      timeoutMs: downloadTimeoutMs,
      signal: AbortSignal.any([signal, cancelled.signal]),
      confirm: async (info) => {
        const size = info.sizeBytes === null ? 'unknown size' : formatBytes(info.sizeBytes);
        const question = `Local LLM needs to download ${info.fileName} (${size}) from ${info.uri}.${recommendation ? ` ${defaultsSentence(recommendation, role)}` : ''}`;
        if (info.plainHttpHost !== undefined) {
          // Plain http from another machine: the same one question, with the risk named.
          const answer = await connection.window.showWarningMessage(
            `${question} The connection to ${info.plainHttpHost} is plain http, not https: anyone on the network path can change the file, and native code (llama.cpp) parses its bytes. Download it only if you trust that network.`,
            { title: 'Download over http' },
            { title: 'Not now' },
          );
          return answer?.title === 'Download over http';
        }
        const answer = await connection.window.showInformationMessage(
          `${question} It is stored once and used offline afterwards.`,
          { title: 'Download' },
          { title: 'Not now' },
        );
        return answer?.title === 'Download';
      },
      onWaitForOtherDownload: () => report(undefined, 'Waiting for another window that is downloading the same model…'),
      onProgress: (p) => {
        const percent = p.totalBytes ? Math.floor((p.downloadedBytes / p.totalBytes) * 100) : undefined;
        const eta = p.etaSeconds === null ? '' : ` · ${Math.ceil(p.etaSeconds)} s left`;
        const total = p.totalBytes ? ` of ${formatBytes(p.totalBytes)}` : '';
        report(percent, `${formatBytes(p.downloadedBytes)}${total} · ${formatBytes(p.bytesPerSecond)}/s${eta}`);
      },
    };
    try {
      const resolved = await resolveModel(target, resolveOptions);
      if (resolved.downloaded) log(`Downloaded ${resolved.source ?? target} to ${resolved.path}.`);
      return resolved.path;
    } catch (err) {
      // Declining the second of the default pair keeps the first: it chats too, as one model did before.
      if (recommendation && role === 'chat' && err instanceof ModelSetupError && err.kind === 'declined') {
        this.defaultChatDeclined = true;
        log(`${err.message.replace(/, so no model is loaded\.$/, '.')} The completion model answers chat too.`);
        return this.resolve('', signal, 'completion');
      }
      throw err;
    } finally {
      if (progress) void (progress as Promise<WorkDoneProgressServerReporter>).then((p) => p.done());
    }
  }
}

/** Why the default model is this one, for the download question: its job and why one or two models. */
function defaultsSentence(recommendation: Recommendation, role: ModelRole): string {
  if (!recommendation.pair) return recommendation.reason;
  const job = role === 'chat' ? 'It answers chat.' : 'It makes the completions; the chat model is asked for next.';
  return `${job} ${recommendation.reason}`;
}
