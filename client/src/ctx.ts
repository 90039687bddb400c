// The one owner of everything the extension holds: the language client and its server process,
// the status item, the chat panel, the commands it is handed, and two disposal lists (the
// extension's lifetime and one client's lifetime).
import type { ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { State, type LanguageClient, type Middleware } from 'vscode-languageclient/node';
import { delay } from '../../server/src/shared/cancellation';
import * as path from 'node:path';
import {
  ActivityNotification,
  ChatRestoreRequest,
  ContextChunksNotification,
  SetApiKeyNotification,
  SleepRequest,
  WakeRequest,
  type ActivityKind,
  type ChatPrefillResult,
  type ContextChunk,
  type ModelStatus,
} from '../../server/src/shared/protocol';
import type { MentionRef } from '../../media/messages';
import type { Settings } from '../../server/src/shared/settings';
import { watchActivity } from './activity/watch';
import { ServerApiKey } from './apiKey';
import type { ChatOptions, LocalLlmApi } from './api';
import { chatBackend } from './chat/backend';
import { bannerFor } from './chat/banner';
import { chatPromptSource } from './chat/chatPromptView';
import { ChatStore } from './chat/chatStore';
import { EditorContext } from './chat/editorContext';
import { keepsHistory } from './chat/historySetting';
import { MentionCandidates } from './chat/mentionCandidates';
import { MentionResolver } from './chat/mentionResolver';
import type { ChatBackend } from './chat/session';
import { ChatViewProvider } from './chat/viewProvider';
import { applyCode } from './edits/applyCode';
import { editSelection } from './edits/editSelection';
import type { MergeDeps } from './edits/mergeFragment';
import { EditProposals, type ProposalReport } from './edits/proposals';
import type { CommandCtx, CommandId, CommandTable } from './commands/types';
import { CompletionReports } from './completionReports';
import { LocalSettings } from './config';
import { ContextPrivacy } from './context/privacy';
import { completionPromptSource, PromptView } from './context/promptView';
import { ContextWatch, sendsContext } from './context/watch';
import { BackoffErrorHandler, createLanguageClient, type CrashReport } from './languageClient';
import { ProgressNotifications } from './progress';
import { ModelStatusTracker } from './status/feature';
import { StatusItem } from './status/item';
import { contextState, escapeMarkdown, stateContextKey, statusKey, type ClientState, type StatusBarInput } from './status/render';
import { suggestionText, suggestsBaseModel } from './status/baseModelSuggestion';
import { currentModels } from './commands/selectModel';
import { errorMessage } from '../../server/src/shared/errors';

/** How long the server gets to shut down cleanly before it is killed. */
const stopTimeoutMs = 2000;
const killGraceMs = 500;

/** globalState: the base-model suggestion was shown once (issue 25's migration). */
const baseModelSuggestionKey = 'localLlm.baseModelSuggestionShown';

export class Ctx implements CommandCtx, vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private state: ClientState = 'starting';
  private crashes = 0;
  private crashMessage: string | null = null;
  private readonly tracker = new ModelStatusTracker();
  private readonly clientStateChanged = new vscode.EventEmitter<ClientState>();
  private readonly localSettings = new LocalSettings();
  private readonly completionReports = new CompletionReports();
  private readonly errorHandler: BackoffErrorHandler;
  private readonly progress: ProgressNotifications;
  private readonly statusItem: StatusItem;
  private readonly chatView: ChatViewProvider;
  private readonly contextWatch: ContextWatch;
  readonly promptView = new PromptView(completionPromptSource);
  readonly chatPromptView = new PromptView(chatPromptSource);
  readonly proposals = new EditProposals();
  private readonly chatPrivacy: ContextPrivacy;
  private readonly backend: ChatBackend;
  /** Where chats are kept (the workspace's storage); null without a folder. */
  private readonly chatsFolder: string | null;
  private chatStore: ChatStore | null;
  private readonly extCleanup: vscode.Disposable[] = [];
  private clientCleanup: vscode.Disposable[] = [];
  private lastContextState: string | null = null;
  private readonly apiKey: ServerApiKey;
  private disposed = false;
  /** The base-model suggestion is in the tooltip this session (it is offered once, then remembered in globalState). */
  private suggestionShowing = false;

  constructor(
    private readonly extCtx: vscode.ExtensionContext,
    private readonly commands: CommandTable,
  ) {
    this.log = vscode.window.createOutputChannel('Local LLM', { log: true });
    this.errorHandler = new BackoffErrorHandler((report) => this.onCrash(report));
    this.progress = new ProgressNotifications(() => this.client);
    this.statusItem = new StatusItem(() => this.statusInput());
    this.contextWatch = new ContextWatch(this.localSettings, (chunks) => this.sendContextChunks(chunks));
    this.apiKey = new ServerApiKey(extCtx.secrets, (key) => this.sendApiKey(key));
    const editor = new EditorContext();
    this.chatPrivacy = new ContextPrivacy(() => this.settings.context.exclude);
    this.backend = chatBackend(() => this.requireClient());
    this.chatsFolder = extCtx.storageUri?.scheme === 'file' ? path.join(extCtx.storageUri.fsPath, 'chats') : null;
    this.chatStore = this.chatsFolder ? new ChatStore(this.chatsFolder) : null;
    this.chatView = new ChatViewProvider({
      extensionUri: extCtx.extensionUri,
      backend: this.backend,
      editor,
      banner: () => bannerFor(statusKey(this.state, this.tracker.status), this.tracker.status),
      log: this.log,
      resolver: new MentionResolver(this.chatPrivacy, () => editor.current()),
      candidates: new MentionCandidates(this.chatPrivacy, () => editor.current()?.document.uri),
      store: () => this.chatStore,
      keepHistory: keepsHistory,
      restore: async (sessionId, turns) => {
        await this.requireClient().sendRequest(ChatRestoreRequest.type, { sessionId, turns });
      },
      apply: (request) => applyCode(request, this.proposals, this.mergeDeps()),
      prefillDrafts: () => this.settings.chat.prefill,
    });
    this.extCleanup.push(
      this.log,
      this.tracker,
      this.clientStateChanged,
      this.localSettings,
      this.localSettings.onDidChange(() => this.render()),
      this.contextWatch,
      this.promptView,
      this.chatPromptView,
      this.proposals,
      this.chatPrivacy,
      this.completionReports,
      this.progress,
      this.statusItem,
      this.apiKey,
      editor,
      this.chatView,
      vscode.window.registerWebviewViewProvider(ChatViewProvider.viewType, this.chatView),
      this.tracker.onDidChange(() => this.render()),
      watchActivity((kind) => this.sendActivity(kind), this.chatView.onDidChangeDraft),
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

  get settings(): Settings {
    return this.localSettings.current;
  }

  async start(): Promise<void> {
    if (this.disposed) return;
    this.setState('starting');
    await this.apiKey.load().catch((err: unknown) => this.log.warn(`The server API key could not be read: ${errorMessage(err)}`));
    if (this.disposed) return;
    const client = this.createClient();
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      // Start failures are already in the log; the status item offers Restart.
      this.log.error(`The Local LLM server did not start: ${errorMessage(err)}`);
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

  async setApiKey(key: string): Promise<void> {
    await this.apiKey.set(key);
    this.sendApiKey(this.apiKey.current);
  }

  private sendApiKey(key: string | null): void {
    if (this.client && this.state === 'running') void this.client.sendNotification(SetApiKeyNotification.type, { apiKey: key });
  }

  editSelection(instruction?: string, editor?: vscode.TextEditor): Promise<ProposalReport | null> {
    return editSelection(
      {
        backend: this.backend,
        proposals: this.proposals,
        refusal: (uri) => this.sendRefusal(uri),
      },
      { ...(instruction !== undefined ? { instruction } : {}), ...(editor ? { editor } : {}) },
    );
  }

  /** Null when the file may go to the model; else the sentence that says why not. */
  private sendRefusal(uri: vscode.Uri): string | null {
    return uri.scheme === 'file' && !this.chatPrivacy.allows(uri)
      ? `${vscode.workspace.asRelativePath(uri)} is excluded by localLlm.context.exclude or files.exclude, so it is not sent to the model.`
      : null;
  }

  /** What Apply needs to merge a block that matches no region with the model. */
  private mergeDeps(): MergeDeps {
    return { backend: this.backend, refusal: (uri) => this.sendRefusal(uri) };
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
      chat: (message: string, options?: ChatOptions) =>
        this.chatView.send(message, {
          includeContext: options?.includeContext ?? false,
          mentions: options?.mentions ?? [],
          ...(options?.onChunk ? { onChunk: options.onChunk } : {}),
        }),
      draftChat: (message: string, options?: { mentions?: MentionRef[] }) =>
        new Promise<ChatPrefillResult | null>((resolve) => {
          const read = this.chatView.onDidReadDraft((result) => {
            read.dispose();
            resolve(result);
          });
          this.chatView.draft(message, options?.mentions ?? []);
        }),
      getChatTurns: () => this.chatView.session.snapshotTurns(),
      getChatId: () => this.chatView.session.id,
      applyCode: (code, options) =>
        applyCode(
          {
            code,
            info: options?.info ?? '',
            wholeFileIfUnmatched: options?.wholeFileIfUnmatched ?? false,
            ...(options?.mergeIfUnmatched ? { mergeIfUnmatched: true } : {}),
            ...(options?.about ? { about: options.about } : {}),
          },
          this.proposals,
          this.mergeDeps(),
        ),
      editSelection: (instruction: string) => this.editSelection(instruction),
      getProposal: () => this.proposals.pending,
      onDidChangeProposal: this.proposals.onDidChangeProposal,
      acceptEdit: () => this.proposals.accept(),
      rejectEdit: () => this.proposals.reject(),
      keptChats: async () => {
        await this.chatView.flushSaves();
        return this.chatView.keptChats();
      },
      reloadChatStore: () => {
        this.chatStore = this.chatsFolder ? new ChatStore(this.chatsFolder) : null;
      },
      openKeptChat: (id: string) => this.chatView.openChat(id),
      deleteKeptChat: (id: string) => this.chatView.deleteChat(id),
      stopChat: () => this.chatView.session.stop(),
      newChat: () => this.chatView.session.reset(),
      getChatView: () => this.chatView.report(),
      getServerPid: () => (this.state === 'running' ? this.client?.serverProcess?.pid : undefined),
      onDidProvideInlineCompletions: this.completionReports.onDidProvide,
      onDidSendContextChunks: this.contextWatch.onDidSend,
    };
  }

  private createClient(): LanguageClient {
    const client = createLanguageClient({
      context: this.extCtx,
      log: this.log,
      errorHandler: this.errorHandler,
      middleware: this.middleware(),
      apiKey: () => this.apiKey.current,
    });
    this.clientCleanup.push(
      this.tracker.listen(client),
      client.onDidChangeState((e) => {
        if (this.client !== client) return;
        if (e.newState === State.Running) {
          this.setState('running');
          this.watchProcess(client.serverProcess);
          this.contextWatch.serverStarted();
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
      // Nothing is asked of the server while inline completions are turned off.
      provideInlineCompletionItems: this.completionReports.wrap((document, position, context, token, next) =>
        this.settings.completion.enabled ? next(document, position, context, token) : null,
      ),
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
    // The server pushes the status when the activity moves the idle deadline; nothing to ask.
    void client.sendNotification(ActivityNotification.type, { kind }).catch(() => undefined);
  }

  /** False when no server took them; the context feed then keeps them for the next one. */
  private async sendContextChunks(chunks: ContextChunk[]): Promise<boolean> {
    const client = this.client;
    if (!client || this.state !== 'running') return false;
    await client.sendNotification(ContextChunksNotification.type, { chunks });
    return true;
  }

  private statusInput(): StatusBarInput {
    return {
      client: this.state,
      status: this.tracker.status,
      receivedAt: this.tracker.receivedAt,
      now: Date.now(),
      crashes: this.crashes,
      crashMessage: this.crashMessage,
      contextEnabled: sendsContext(this.settings),
      suggestion: this.baseModelSuggestion(),
    };
  }

  /** The tooltip's suggestion of a base model for completions, for a user whose one model is an Instruct model. */
  private baseModelSuggestion(): string | null {
    const status = this.tracker.status;
    if (!status?.model || status.chatModel) return null;
    const models = currentModels(this.settings.model);
    const show = suggestsBaseModel({
      ...models,
      engine: this.settings.engine,
      loadedName: status.model.name,
      shownBefore: this.extCtx.globalState.get<boolean>(baseModelSuggestionKey) === true,
      showingNow: this.suggestionShowing,
    });
    if (show && !this.suggestionShowing) {
      this.suggestionShowing = true;
      void this.extCtx.globalState.update(baseModelSuggestionKey, true);
    }
    return show ? suggestionText(escapeMarkdown(status.model.name)) : null;
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
    return (Object.keys(this.commands) as CommandId[]).map((id) =>
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        const client = this.client;
        const command = this.commands[id];
        try {
          if (client && this.state === 'running') return await command.enabled({ ctx: this, client })(...args);
          if (command.disabled) return await command.disabled(this)(...args);
          const choice = await vscode.window.showWarningMessage('The Local LLM server is not running.', 'Restart Server', 'Show Logs');
          if (choice === 'Restart Server') await this.restart();
          if (choice === 'Show Logs') this.log.show();
        } catch (err) {
          const message = errorMessage(err);
          void vscode.window.showErrorMessage(`Local LLM: ${message}`);
        }
        return undefined;
      }),
    );
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A turn that ended just before a reload or close is still being written: keep it.
    await this.chatView.flushSaves();
    await this.stopServer();
    for (const d of this.extCleanup) d.dispose();
  }
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
