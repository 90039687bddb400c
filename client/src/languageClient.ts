// How the language server is started and what the client does when it fails: the bundled
// server over Node IPC, every file and untitled document, our settings forwarded, and a
// crash handler that restarts with back-off and gives up after repeated crashes.
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type Middleware,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { delay } from '../../server/src/shared/cancellation';
import type { InitializationOptions } from '../../server/src/shared/protocol';
import { codeSchemes } from './editorDocuments';
import { rawSettings, settingsSection } from './config';
import { errorMessage } from '../../server/src/shared/errors';

export const clientId = 'localLlm';
export const clientName = 'Local LLM';

/** Restarts after a crash wait 0.5 s, 1 s, 2 s, 4 s, 8 s; a sixth crash within 3 minutes stops them. */
const crashWindowMs = 3 * 60 * 1000;
const maxCrashesInWindow = 5;
const firstDelayMs = 500;

export interface CrashReport {
  /** Crashes within the window, this one included. */
  count: number;
  willRestart: boolean;
  delayMs: number;
}

export class BackoffErrorHandler implements ErrorHandler {
  private crashes: number[] = [];
  private stopped = false;

  constructor(private readonly onCrash: (report: CrashReport) => void) {}

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    // A few garbled messages are survivable; a stream of them means the pipe is broken.
    return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
  }

  async closed(): Promise<CloseHandlerResult> {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < crashWindowMs);
    this.crashes.push(now);
    const count = this.crashes.length;
    const willRestart = count <= maxCrashesInWindow && !this.stopped;
    const delayMs = firstDelayMs * 2 ** (count - 1);
    this.onCrash({ count, willRestart, delayMs });
    if (!willRestart) {
      return {
        action: CloseAction.DoNotRestart,
        handled: true,
        message: `The Local LLM server crashed ${count} times in 3 minutes and was not restarted.`,
      };
    }
    await delay(delayMs);
    // Deactivation may have come during the wait.
    return this.stopped ? { action: CloseAction.DoNotRestart, handled: true } : { action: CloseAction.Restart, handled: true };
  }

  /** No more restarts: the server is being stopped on purpose. */
  stop(): void {
    this.stopped = true;
  }

  /** A fresh start by the user: restarts are allowed again, the crash count starts over. */
  resume(): void {
    this.stopped = false;
    this.crashes = [];
  }
}

export interface ClientSetup {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  errorHandler: ErrorHandler;
  middleware: Middleware;
  /** The model server's API key, read from secret storage before the start. */
  apiKey(): string | null;
}

export function createLanguageClient(setup: ClientSetup): LanguageClient {
  const module = setup.context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = { module, transport: TransportKind.ipc };
  const clientOptions: LanguageClientOptions = {
    documentSelector: codeSchemes.map((scheme) => ({ scheme })),
    synchronize: { configurationSection: settingsSection },
    // A function, so a restarted server gets the settings of that moment.
    initializationOptions: (): InitializationOptions => ({
      storageDir: setup.context.globalStorageUri.fsPath,
      settings: rawSettings(),
      apiKey: setup.apiKey(),
    }),
    outputChannel: setup.log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    errorHandler: setup.errorHandler,
    initializationFailedHandler: (error) => {
      setup.log.error(`The Local LLM server failed to initialize: ${errorMessage(error)}`);
      return false;
    },
    middleware: setup.middleware,
  };
  return new LanguageClient(clientId, clientName, serverOptions, clientOptions);
}
