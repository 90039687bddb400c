// What `activate()` returns: enough for integration tests and other extensions to observe and
// drive the model without scraping the UI.
import type * as vscode from 'vscode';
import type { ChatPrefillResult, ContextChunk, ModelStatus } from '../../server/src/shared/protocol';
import type { ChatTurn, KeptChatEntry, MentionRef } from '../../media/messages';
import type { TurnOutcome } from './chat/session';
import type { ProposalReport } from './edits/proposals';
import type { ClientState, StatusView } from './status/render';

export type { ClientState, StatusView, ProposalReport, KeptChatEntry, ChatTurn, MentionRef };

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
  /** Asked for by the user (Show Next / Show Previous, Trigger Inline Suggestion), not while typing: the other candidates come with it. */
  explicit: boolean;
}

export interface ChatOptions {
  /** Attach the current selection, or the file when nothing is selected. */
  includeContext?: boolean;
  onChunk?: (text: string) => void;
  /** Mentions as the panel's chips carry them; mentions written in the message are found as well. */
  mentions?: MentionRef[];
}

export interface ApplyOptions {
  /** The fence's info string: a language, maybe a path. */
  info?: string;
  /** The file the question was about: where the code goes when it names none. */
  about?: vscode.Uri;
  /** When the code matches no region (or several): true shows the whole-file diff; false (default) rejects with why. */
  wholeFileIfUnmatched?: boolean;
  /** When the code matches no region (or several): true merges it into the file with the model, shown as a whole-file diff. */
  mergeIfUnmatched?: boolean;
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
  /**
   * The panel's input as if the user wrote `message` (with these chips) and paused: resolves with
   * what the server did with the draft (localLlm/chatPrefill), or null when it had nothing to send.
   */
  draftChat(message: string, options?: { mentions?: MentionRef[] }): Promise<ChatPrefillResult | null>;
  /** Stops the answer being written, as the panel's Stop button does. */
  stopChat(): void;
  newChat(): Promise<void>;
  getChatView(): ChatViewReport;
  /** The panel's conversation as it stands. */
  getChatTurns(): ChatTurn[];
  /** The panel's chat session id (also its kept chat's id). */
  getChatId(): string;
  /** Apply on a code block: shows the diff of the change and resolves with it, before Accept or Reject. */
  applyCode(code: string, options?: ApplyOptions): Promise<ProposalReport | null>;
  /** Edit Selection in the active editor with this instruction; resolves with the diff shown, or null when cancelled. */
  editSelection(instruction: string): Promise<ProposalReport | null>;
  /** The change under review; null when none. */
  getProposal(): ProposalReport | null;
  readonly onDidChangeProposal: vscode.Event<ProposalReport | null>;
  acceptEdit(): Promise<ProposalReport>;
  rejectEdit(): Promise<void>;
  /** The kept chats of this workspace, once every pending save is written. */
  keptChats(): Promise<KeptChatEntry[]>;
  /** Forgets the chat store and makes it anew on the same folder, as a window reload would. */
  reloadChatStore(): void;
  openKeptChat(id: string): Promise<void>;
  deleteKeptChat(id: string): Promise<void>;
  /** The language server's process id while it runs, for diagnostics. */
  getServerPid(): number | undefined;
  readonly onDidProvideInlineCompletions: vscode.Event<InlineCompletionReport>;
  /** Context chunks the server was sent, one event per `localLlm/contextChunks` notification written to it. */
  readonly onDidSendContextChunks: vscode.Event<ContextChunk[]>;
}
