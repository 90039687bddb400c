// The one owner of everything the extension holds: the language client and its server process,
// the status item, the chat panel, and two disposal lists (the extension's lifetime and one
// client's lifetime).
import type { ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { State, type LanguageClient, type Middleware } from 'vscode-languageclient/node';
import { ActivityNotification, SleepRequest, WakeRequest, type ActivityKind, type ModelStatus } from '../../server/src/shared/protocol';
import { watchActivity } from './activity';
import type { ChatOptions, InlineCompletionReport, LocalLlmApi } from './api';
import { bannerFor } from './chat/banner';
import { EditorContext } from './chat/editorContext';
import { ChatViewProvider } from './chat/viewProvider';
import { commandList, stateContextKey, type CommandId } from './commandList';
import { createCommands } from './commands';
import { readSettings } from './config';
import { chatBackend } from './features/chat';
import { ProgressNotifications } from './features/progressNotification';
import { ModelStatusTracker } from './features/status';
import { BackoffErrorHandler, createLanguageClient, type CrashReport } from './languageClient';
import { contextState, statusKey, type ClientState, type StatusBarInput } from './statusBar';
import { StatusItem } from './statusItem';

/** How long the server gets to shut down cleanly before it is killed. */
const stopTimeoutMs = 2000;
const killGraceMs = 500;

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private state: ClientState = 'starting';
  private crashes = 0;
  private crashMessage: string | null = null;
  private readonly tracker = new ModelStatusTracker();
  private readonly clientStateChanged = new vscode.EventEmitter<ClientState>();
  private readonly completions = new vscode.EventEmitter<InlineCompletionReport>();
  private readonly errorHandler: BackoffErrorHandler;
  private readonly progress: ProgressNotifications;
  private readonly statusItem: StatusItem;
  private readonly chatView: ChatViewProvider;
  private readonly extCleanup: vscode.Disposable[] = [];
  private clientCleanup: vscode.Disposable[] = [];
  private lastContextState: string | null = null;
  private disposed = false;

  constructor(private readonly extCtx: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Local LLM', { log: true });
    this.errorHandler = new BackoffErrorHandler((report) => this.onCrash(report));
    this.progress = new ProgressNotifications(() => this.client);
    this.statusItem = new StatusItem(() => this.statusInput());
    const editor = new EditorContext();
    this.chatView = new ChatViewProvider({
      extensionUri: extCtx.extensionUri,
      backend: chatBackend(() => this.requireClient()),
      editor,
      banner: () => bannerFor(statusKey(this.state, this.tracker.status), this.tracker.status),
      log: this.log,
    });
    this.extCleanup.push(
      this.log,
      this.tracker,
      this.clientStateChanged,
      this.completions,
      this.progress,
      this.statusItem,
      editor,
      this.chatView,
      vscode.window.registerWebviewViewProvider(ChatViewProvider.viewType, this.chatView),
      this.tracker.onDidChange(() => this.render()),
      watchActivity((kind) => this.sendActivity(kind)),
      ...this.registerCommands(),
    );
    extCtx.subscriptions.push(this);
    this.render();
  }

  get clientState(): ClientState {
    return this.state;
  }

  get status(): ModelStatus | null {
    return this.tracker.status;
  }

  async start(): Promise<void> {
    if (this.disposed) return;
    const client = this.createClient();
    this.client = client;
    this.setState('starting');
    try {
      await client.start();
    } catch (err) {
      // Start failures are already in the log; the status item offers Restart.
      this.log.error(`The Local LLM server did not start: ${err instanceof Error ? err.message : String(err)}`);
      if (this.client === client) this.setState('stopped');
    }
  }

  async restart(): Promise<void> {
    await this.stopServer();
    if (this.disposed) return;
    this.errorHandler.resume();
    await this.start();
  }

  /** Stops the server within a bounded time; a server that does not go is killed. */
  async stopServer(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.errorHandler.stop();
    const serverProcess = client.serverProcess;
    const stopped = client.stop(stopTimeoutMs).catch((err: unknown) => this.log.warn(`Stopping the server: ${String(err)}`));
    await Promise.race([stopped, delay(stopTimeoutMs + killGraceMs)]);
    if (serverProcess) await kill(serverProcess);
    for (const d of this.clientCleanup) d.dispose();
    this.clientCleanup = [];
    this.progress.endAll();
    this.tracker.forget();
    this.setState('stopped');
  }

  requireClient(): LanguageClient {
    if (!this.client || this.state !== 'running') {
      throw new Error('The Local LLM server is not running; use "Local LLM: Restart Server".');
    }
    return this.client;
  }

  async sleep(): Promise<ModelStatus> {
    const status = await this.requireClient().sendRequest(SleepRequest.type, undefined);
    this.tracker.update(status);
    return status;
  }

  async wake(): Promise<ModelStatus> {
    const status = await this.requireClient().sendRequest(WakeRequest.type, undefined);
    this.tracker.update(status);
    return status;
  }

  api(): LocalLlmApi {
    return {
      getStatus: () => this.tracker.status,
      onDidChangeStatus: this.tracker.onDidChange,
      getClientState: () => this.state,
      onDidChangeClientState: this.clientStateChanged.event,
      getStatusView: () => this.statusItem.view,
      sleep: () => this.sleep(),
      wake: () => this.wake(),
      chat: (message: string, options?: ChatOptions) => this.chatView.send(message, options?.includeContext ?? false, options?.onChunk),
      stopChat: () => this.chatView.session.stop(),
      newChat: () => this.chatView.session.reset(),
      getServerPid: () => (this.state === 'running' ? this.client?.serverProcess?.pid : undefined),
      onDidProvideInlineCompletions: this.completions.event,
    };
  }

  private createClient(): LanguageClient {
    const client = createLanguageClient({
      context: this.extCtx,
      log: this.log,
      errorHandler: this.errorHandler,
      middleware: this.middleware(),
    });
    this.clientCleanup.push(
      this.tracker.listen(client),
      client.onDidChangeState((e) => {
        if (this.client !== client) return;
        if (e.newState === State.Running) {
          this.setState('running');
          this.watchProcess(client.serverProcess);
          void this.tracker.refresh(client).catch((err: unknown) => this.log.warn(`Status request failed: ${String(err)}`));
        } else if (e.newState === State.Starting) {
          this.setState('starting');
        } else if (this.state !== 'crashed') {
          this.setState('stopped');
        }
      }),
    );
    return client;
  }

  private middleware(): Middleware {
    return {
      handleWorkDoneProgress: this.progress.handle,
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const uri = document.uri.toString();
        if (!readSettings().completion.enabled) {
          this.completions.fire({ uri, items: 0, texts: [], cancelled: false, skipped: true });
          return null;
        }
        const result = await next(document, position, context, token);
        const items = !result ? [] : Array.isArray(result) ? result : result.items;
        const texts = items.map((i) => (typeof i.insertText === 'string' ? i.insertText : i.insertText.value));
        this.completions.fire({ uri, items: items.length, texts, cancelled: token.isCancellationRequested, skipped: false });
        return result;
      },
    };
  }

  private watchProcess(serverProcess: ChildProcess | undefined): void {
    serverProcess?.once('exit', (code, signal) => {
      if (this.state === 'stopped') return;
      this.crashMessage = signal ? `it was killed by ${signal}` : `it exited with code ${code ?? 'unknown'}`;
      this.render();
    });
  }

  private onCrash(report: CrashReport): void {
    this.crashes++;
    this.tracker.forget();
    this.progress.endAll();
    this.setState('crashed');
    const how = this.crashMessage ? ` (${this.crashMessage})` : '';
    if (report.willRestart) {
      this.log.error(`The Local LLM server stopped unexpectedly${how}; restarting in ${report.delayMs} ms.`);
    } else {
      this.log.error(`The Local LLM server crashed ${report.count} times in 3 minutes${how}; not restarting.`);
      void vscode.window
        .showErrorMessage('The Local LLM server keeps crashing and was not restarted.', 'Show Logs', 'Restart Server')
        .then((choice) => {
          if (choice === 'Show Logs') this.log.show();
          if (choice === 'Restart Server') void this.restart();
        });
    }
  }

  private sendActivity(kind: ActivityKind): void {
    const client = this.client;
    if (!client || this.state !== 'running') return;
    void client.sendNotification(ActivityNotification.type, { kind }).catch(() => undefined);
    // The server does not push countdown changes; ask, so the tooltip shows the reset timer.
    if (this.tracker.status?.state === 'ready') void this.tracker.refresh(client).catch(() => undefined);
  }

  private statusInput(): StatusBarInput {
    return {
      client: this.state,
      status: this.tracker.status,
      receivedAt: this.tracker.receivedAt,
      now: Date.now(),
      crashes: this.crashes,
      crashMessage: this.crashMessage,
    };
  }

  private setState(state: ClientState): void {
    if (state === this.state) return;
    if (state === 'running') this.crashMessage = null;
    this.state = state;
    this.render();
    this.clientStateChanged.fire(state);
  }

  private render(): void {
    this.statusItem.update();
    this.chatView.updateBanner();
    const key = contextState(this.state, this.tracker.status);
    if (key !== this.lastContextState) {
      this.lastContextState = key;
      void vscode.commands.executeCommand('setContext', stateContextKey, key);
    }
  }

  private registerCommands(): vscode.Disposable[] {
    const factories = createCommands();
    return (Object.keys(commandList) as CommandId[]).map((id) =>
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        const client = this.client;
        const factory = factories[id];
        try {
          if (client && this.state === 'running') return await factory.enabled({ ctx: this, client })(...args);
          if (factory.disabled) return await factory.disabled(this)(...args);
          const choice = await vscode.window.showWarningMessage('The Local LLM server is not running.', 'Restart Server', 'Show Logs');
          if (choice === 'Restart Server') await this.restart();
          if (choice === 'Show Logs') this.log.show();
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          void vscode.window.showErrorMessage(`Local LLM: ${message}`);
        }
        return undefined;
      }),
    );
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.stopServer();
    for (const d of this.extCleanup) d.dispose();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after a grace period, for a server that outlived its shutdown. */
async function kill(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, delay(killGraceMs)]);
  if (alive(child)) {
    child.kill('SIGKILL');
    await Promise.race([exited, delay(killGraceMs)]);
  }
}
