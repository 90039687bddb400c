// The chat panel: a webview view in our activity bar container. It owns the conversation
// (ChatSession), so hiding the panel loses nothing; the page redraws from a snapshot. Mentions are
// resolved here before a message goes out, Apply goes to the edits, and every ended turn is kept.
import { randomBytes, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  isFromWebview,
  type ChatSnapshot,
  type FromWebview,
  type KeptChatEntry,
  type MentionRef,
  type ModelBanner,
  type ToWebview,
} from '../../../media/messages';
import { parseMentions } from '../../../media/mentions';
import { chatPage } from './html';
import { ChatSession, type ChatBackend, type ChatTurnRequest, type TurnOptions, type TurnOutcome } from './session';
import { DraftPrefill, type Draft } from './draftPrefill';
import { systemClock } from '../../../server/src/shared/clock';
import type { EditorContext } from './editorContext';
import type { ChatViewReport } from '../api';
import { errorMessage } from '../../../server/src/shared/errors';
import type { ChatPrefillResult, ChatTurn as ServerTurn } from '../../../server/src/shared/protocol';
import { chatTitle, serverTurns, type ChatStore } from './chatStore';
import type { MentionCandidates } from './mentionCandidates';
import type { MentionResolver } from './mentionResolver';
import type { ApplyRequest } from '../edits/applyCode';

export interface ChatViewDeps {
  extensionUri: vscode.Uri;
  backend: ChatBackend;
  editor: EditorContext;
  banner: () => ModelBanner | null;
  log: vscode.LogOutputChannel;
  resolver: MentionResolver;
  candidates: MentionCandidates;
  /** Where chats are kept; null when there is nowhere (no folder open). */
  store: () => ChatStore | null;
  keepHistory: () => boolean;
  /** Gives the server a reopened chat's turns (`localLlm/chatRestore`). */
  restore: (sessionId: string, turns: ServerTurn[]) => Promise<void>;
  apply: (request: ApplyRequest) => Promise<unknown>;
  /** localLlm.chat.prefill: the question is read ahead while the user writes it. */
  prefillDrafts: () => boolean;
}

export interface SendOptions {
  /** Chips picked in the panel; mentions written in the text are found on their own. */
  mentions?: readonly MentionRef[];
  includeContext?: boolean;
  onChunk?: (text: string) => void;
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'localLlm.chatView';
  readonly session: ChatSession;
  private view: vscode.WebviewView | undefined;
  private pageReady = false;
  private includeContext = false;
  private lastBanner = 'null';
  private lastLabel: string | null = null;
  /** When the chat on screen was first kept; absent until its first turn ended. */
  private createdAt = new Map<string, number>();
  private saving: Promise<void> = Promise.resolve();
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly drafts: DraftPrefill;
  private readonly draftChanged = new vscode.EventEmitter<void>();
  /** The user writes in the chat input: activity, as typing in the editor is. */
  readonly onDidChangeDraft = this.draftChanged.event;
  private readonly draftRead = new vscode.EventEmitter<ChatPrefillResult | null>();
  /** A draft was read ahead (what the server did with it), or had nothing to send (null). */
  readonly onDidReadDraft = this.draftRead.event;

  constructor(private readonly deps: ChatViewDeps) {
    this.session = new ChatSession(
      deps.backend,
      (m) => this.post(m),
      () => randomUUID(),
      (session) => this.keep(session),
    );
    this.drafts = new DraftPrefill({
      clock: systemClock,
      request: (draft) => this.draftRequest(draft),
      prefill: (request, signal) => deps.backend.prefill(request, signal),
      enabled: deps.prefillDrafts,
      log: (line) => deps.log.debug(line),
      onRead: (result) => this.draftRead.fire(result),
    });
    this.subscriptions.push(
      this.draftChanged,
      this.draftRead,
      deps.editor.onDidChange(() => {
        const label = deps.editor.label();
        if (label === this.lastLabel) return;
        this.lastLabel = label;
        this.post({ type: 'contextLabel', label });
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const { extensionUri } = this.deps;
    const mediaRoots = [vscode.Uri.joinPath(extensionUri, 'dist', 'media'), vscode.Uri.joinPath(extensionUri, 'media')];
    view.webview.options = { enableScripts: true, localResourceRoots: mediaRoots };
    view.webview.html = chatPage({
      cspSource: view.webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'media', 'chat.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'chat.css')).toString(),
    });
    this.subscriptions.push(
      view.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      view.onDidDispose(() => {
        if (this.view !== view) return;
        this.view = undefined;
        this.pageReady = false;
      }),
    );
  }

  report(): ChatViewReport {
    return { resolved: this.view !== undefined, visible: this.view?.visible ?? false, pageReady: this.pageReady };
  }

  /** Called on every client or model state change; sends the banner only when it changed. */
  updateBanner(): void {
    const banner = this.deps.banner();
    // No banner: the model is ready, and a draft it could not read before can be read now.
    if (banner === null) this.drafts.modelReady();
    const key = JSON.stringify(banner);
    if (key === this.lastBanner) return;
    this.lastBanner = key;
    this.post({ type: 'banner', banner });
  }

  private snapshot(): ChatSnapshot {
    this.lastLabel = this.deps.editor.label();
    return {
      turns: this.session.snapshotTurns(),
      busy: this.session.busy,
      includeContext: this.includeContext,
      contextLabel: this.lastLabel,
      banner: this.deps.banner(),
      chatId: this.createdAt.has(this.session.id) ? this.session.id : null,
    };
  }

  /**
   * Sends one message as the panel would: its mentions resolved first (a refused one sends
   * nothing and gives the message back to the input with why), the editor context when asked.
   */
  async send(text: string, options: SendOptions = {}): Promise<TurnOutcome> {
    // What was read ahead of the draft stays in the model; the reading stops here.
    this.drafts.cancel();
    const chips = options.mentions ?? [];
    let turn;
    try {
      turn = await this.turnOptions(text, chips, options.includeContext);
    } catch (err) {
      this.post({ type: 'refused', message: errorMessage(err), text, mentions: [...chips] });
      throw err;
    }
    return this.session.send(turn.message, { ...turn.options, ...(options.onChunk ? { onChunk: options.onChunk } : {}) });
  }

  /** The input holds `text` and these chips: read after a pause. */
  draft(text: string, mentions: readonly MentionRef[]): void {
    this.drafts.changed({ text, mentions: [...mentions] });
    this.draftChanged.fire();
  }

  /** A message as it would be sent: the mentions (chips and typed) resolved, the editor's context when asked for. Rejects a refused mention. */
  private async turnOptions(
    text: string,
    chips: readonly MentionRef[],
    includeContext = this.includeContext,
  ): Promise<{ message: string; options: TurnOptions }> {
    const typed = parseMentions(text);
    const resolved = await this.deps.resolver.resolve(chips, typed.mentions);
    return {
      message: typed.rest,
      options: {
        attached: includeContext ? this.deps.editor.attached() : null,
        parts: resolved.parts,
        codebase: resolved.codebase,
        mentionLabels: resolved.labels,
      },
    };
  }

  /** The turn a draft would send now; null when it would send nothing or a mention is refused (said at the send). */
  private async draftRequest(draft: Draft): Promise<ChatTurnRequest | null> {
    if (this.session.busy) return null;
    const turn = await this.turnOptions(draft.text, draft.mentions).catch(() => null);
    return turn ? this.session.requestFor(turn.message, turn.options) : null;
  }

  /** Keeps the conversation after a turn, when the setting says so; saves run one after another. */
  private keep(session: ChatSession): void {
    if (!this.deps.keepHistory()) return;
    const store = this.deps.store();
    if (!store) return;
    const id = session.id;
    const turns = session.snapshotTurns();
    const first = turns.find((t) => t.role === 'user');
    if (!first) return;
    const now = Date.now();
    const createdAt = this.createdAt.get(id) ?? now;
    this.createdAt.set(id, createdAt);
    const title = chatTitle(first.text || first.mentions?.join(' ') || '');
    this.saving = this.saving
      .then(() => store.save({ version: 1, id, title, createdAt, updatedAt: now, turns }))
      .then(() => this.postChats())
      .catch((err: unknown) => this.deps.log.warn(`The chat could not be kept: ${errorMessage(err)}`));
  }

  /** Resolves once every save asked for so far is on disk. */
  flushSaves(): Promise<void> {
    return this.saving;
  }

  async keptChats(): Promise<KeptChatEntry[]> {
    return (await this.deps.store()?.list()) ?? [];
  }

  private async postChats(): Promise<void> {
    if (!this.view) return;
    const store = this.deps.store();
    let note: string | null = null;
    if (!store) note = 'Open a folder to keep chats: they are kept in the workspace’s storage.';
    else if (!this.deps.keepHistory()) note = 'New chats are not kept (localLlm.chat.keepHistory is off).';
    this.post({ type: 'chats', chats: await this.keptChats(), note });
  }

  /** Reopens a kept chat: its messages in the panel, its turns on the server. */
  async openChat(id: string): Promise<void> {
    this.drafts.cancel();
    const store = this.deps.store();
    const chat = await store?.load(id);
    if (!chat) throw new Error('That chat is no longer kept.');
    this.session.open(chat.id, chat.turns);
    this.createdAt.set(chat.id, chat.createdAt);
    this.post({ type: 'snapshot', snapshot: this.snapshot() });
    try {
      await this.deps.restore(chat.id, serverTurns(chat.turns));
    } catch (err) {
      // The messages are back either way; only the model's memory of them is missing.
      this.deps.log.warn(`The server did not take the reopened chat's history: ${errorMessage(err)}`);
      vscode.window.setStatusBarMessage('Local LLM: the model starts this reopened chat without its earlier turns.', 5000);
    }
  }

  async deleteChat(id: string): Promise<void> {
    await this.deps.store()?.delete(id);
    if (id === this.session.id) {
      this.createdAt.delete(id);
      await this.session.reset();
    }
    await this.postChats();
  }

  async deleteAllChats(confirm: boolean): Promise<void> {
    const store = this.deps.store();
    if (!store) return;
    const count = (await store.list()).length;
    if (count === 0) return;
    if (confirm) {
      const answer = await vscode.window.showWarningMessage(
        `Delete all ${count} kept chat${count === 1 ? '' : 's'} of this workspace?`,
        { modal: true },
        'Delete All',
      );
      if (answer !== 'Delete All') return;
    }
    await store.deleteAll();
    this.createdAt.clear();
    await this.postChats();
  }

  private receive(raw: unknown): void {
    if (!isFromWebview(raw)) {
      this.deps.log.warn(`Ignored a malformed message from the chat panel: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    void this.handle(raw).catch((err: unknown) => {
      const message = errorMessage(err);
      void vscode.window.showErrorMessage(`Local LLM: ${message}`);
    });
  }

  private async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.pageReady = true;
        this.post({ type: 'snapshot', snapshot: this.snapshot() });
        return;
      case 'send':
        // A failed turn (or a refused mention) is shown in the panel itself; the log keeps the detail.
        await this.send(message.text, { mentions: message.mentions ?? [] }).catch((err: unknown) =>
          this.deps.log.error(`Chat turn failed: ${String(err)}`),
        );
        return;
      case 'mentionQuery': {
        const items = await this.deps.candidates.list(message.kind, message.query).catch((err: unknown) => {
          this.deps.log.warn(`Mention candidates for @${message.kind}: ${errorMessage(err)}`);
          return [];
        });
        this.post({ type: 'mentionCandidates', id: message.id, items });
        return;
      }
      case 'apply': {
        const about = this.session.turn(message.turnId)?.about;
        await this.deps.apply({ code: message.text, info: message.info, ...(about ? { about: vscode.Uri.parse(about) } : {}) });
        return;
      }
      case 'listChats':
        await this.postChats();
        return;
      case 'openChat':
        await this.openChat(message.id);
        return;
      case 'deleteChat':
        await this.deleteChat(message.id);
        return;
      case 'deleteAllChats':
        await this.deleteAllChats(true);
        return;
      case 'stop':
        this.session.stop();
        return;
      case 'draft':
        this.draft(message.text, message.mentions ?? []);
        return;
      case 'newChat':
        this.drafts.cancel();
        await this.session.reset();
        return;
      case 'setIncludeContext':
        this.includeContext = message.value;
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        vscode.window.setStatusBarMessage('Local LLM: code copied', 2000);
        return;
      case 'insert':
        await this.deps.editor.insert(message.text.replace(/\n$/, ''));
        return;
      case 'wake':
        await vscode.commands.executeCommand('localLlm.wake');
        return;
      case 'restartServer':
        await vscode.commands.executeCommand('localLlm.restartServer');
        return;
    }
  }

  private post(message: ToWebview): void {
    // A hidden panel has no page; it gets a full snapshot when it comes back.
    void this.view?.webview.postMessage(message);
  }

  dispose(): void {
    this.drafts.dispose();
    this.session.stop();
    for (const s of this.subscriptions) s.dispose();
  }
}
