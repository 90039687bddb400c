// The chat panel: a webview view in our activity bar container. It owns the conversation
// (ChatSession), so hiding the panel loses nothing; the page redraws from a snapshot.
import { randomBytes, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { isFromWebview, type ChatSnapshot, type FromWebview, type ModelBanner, type ToWebview } from '../../../media/messages';
import { chatPage } from './html';
import { ChatSession, type ChatBackend } from './session';
import type { EditorContext } from './editorContext';
import type { ChatViewReport } from '../api';
import { errorMessage } from '../../../server/src/shared/errors';

export interface ChatViewDeps {
  extensionUri: vscode.Uri;
  backend: ChatBackend;
  editor: EditorContext;
  banner: () => ModelBanner | null;
  log: vscode.LogOutputChannel;
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'localLlm.chatView';
  readonly session: ChatSession;
  private view: vscode.WebviewView | undefined;
  private pageReady = false;
  private includeContext = false;
  private lastBanner = 'null';
  private lastLabel: string | null = null;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly deps: ChatViewDeps) {
    this.session = new ChatSession(
      deps.backend,
      (m) => this.post(m),
      () => randomUUID(),
    );
    this.subscriptions.push(
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
    };
  }

  /** Sends one message as the panel would, with the editor context when the toggle is on. */
  send(text: string, includeContext = this.includeContext, onChunk?: (text: string) => void): ReturnType<ChatSession['send']> {
    return this.session.send(text, includeContext ? this.deps.editor.attached() : null, onChunk);
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
        // A failed turn is shown in the panel itself; the log keeps the detail.
        await this.send(message.text).catch((err: unknown) => this.deps.log.error(`Chat turn failed: ${String(err)}`));
        return;
      case 'stop':
        this.session.stop();
        return;
      case 'newChat':
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
    this.session.stop();
    for (const s of this.subscriptions) s.dispose();
  }
}
