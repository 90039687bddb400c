// What `activate()` returns: enough for integration tests and other extensions to observe and
// drive the model without scraping the UI.
import type * as vscode from 'vscode';
import type { ContextChunk, ModelStatus } from '../../server/src/shared/protocol';
import type { TurnOutcome } from './chat/session';
import type { ClientState, StatusView } from './status/render';

export type { ClientState, StatusView };

export interface InlineCompletionReport {
  uri: string;
  /** Items the server returned; 0 when it had nothing or the request was skipped. */
  items: number;
  /** Their insert texts, as VS Code got them. */
  texts: string[];
  /** VS Code cancelled the request (the user typed on). */
  cancelled: boolean;
  /** Not sent: inline completions are turned off in the settings. */
  skipped: boolean;
}

export interface ChatOptions {
  /** Attach the current selection, or the file when nothing is selected. */
  includeContext?: boolean;
  onChunk?: (text: string) => void;
}

/** The chat panel as VS Code and its page have it. */
export interface ChatViewReport {
  /** VS Code resolved the webview view, and has not disposed it since. */
  resolved: boolean;
  visible: boolean;
  /** The page's script ran and said ready, so its CSP and resource URIs are right. */
  pageReady: boolean;
}

export interface LocalLlmApi {
  getStatus(): ModelStatus | null;
  readonly onDidChangeStatus: vscode.Event<ModelStatus>;
  getClientState(): ClientState;
  readonly onDidChangeClientState: vscode.Event<ClientState>;
  /** The status bar item as currently rendered. */
  getStatusView(): StatusView | null;
  sleep(): Promise<ModelStatus>;
  wake(): Promise<ModelStatus>;
  /** One turn in the chat panel's conversation, exactly as if typed there. */
  chat(message: string, options?: ChatOptions): Promise<TurnOutcome>;
  /** Stops the answer being written, as the panel's Stop button does. */
  stopChat(): void;
  newChat(): Promise<void>;
  getChatView(): ChatViewReport;
  /** The language server's process id while it runs, for diagnostics. */
  getServerPid(): number | undefined;
  readonly onDidProvideInlineCompletions: vscode.Event<InlineCompletionReport>;
  /** Context chunks the server was sent, one event per `localLlm/contextChunks` notification written to it. */
  readonly onDidSendContextChunks: vscode.Event<ContextChunk[]>;
}
