// The chat webview's contract: every message between it (chat.ts) and the extension, as one typed
// union per direction, and the check the extension runs on what arrives. The webview owns it;
// client/src/chat imports it from here (media/ never imports the client).
import type { ChatIncluded, ChatPartKind } from '../server/src/shared/protocol';

export type TurnState = 'streaming' | 'done' | 'stopped' | 'error';

export interface ChatTurn {
  id: string;
  role: 'user' | 'assistant';
  /** Markdown source; the webview renders and sanitizes it. */
  text: string;
  state: TurnState;
  /** Why the turn failed, in one sentence. */
  error?: string;
  /** What editor context went with a user turn, e.g. "selection in main.ts (4 lines)". */
  contextLabel?: string;
  /** The mentions a user turn carried, by their chips' labels. */
  mentions?: string[];
  /** What the server put into the prompt besides the question (an answer's). */
  included?: ChatIncluded[];
  /** What did not fit, in sentences (an answer's). */
  notes?: string[];
  /** The file the question was about (URI): where Apply goes when a block names none. */
  about?: string;
}

/** A mention picked in the input, shown as a chip; the extension resolves it when the message is sent. */
export interface MentionRef {
  kind: ChatPartKind;
  /** The chip's text. */
  label: string;
  /** file, symbol: the file's URI; problems: the file's, or none for the workspace's. */
  uri?: string;
  /** 0-based, inclusive: a file's #L range or a symbol's extent. */
  startLine?: number;
  endLine?: number;
}

/** One entry of the mention picker's second list. */
export interface MentionCandidate {
  ref: MentionRef;
  /** Shown dimmed after the label: a folder, a symbol's file. */
  detail?: string;
}

export type MentionQueryKind = 'file' | 'symbol' | 'problems';

/** A kept chat in the History list. */
export interface KeptChatEntry {
  id: string;
  title: string;
  /** Epoch ms of its last turn. */
  updatedAt: number;
  questions: number;
}

/** What the panel says about the model above the input, when it is not simply ready. */
export interface ModelBanner {
  tone: 'info' | 'busy' | 'error';
  text: string;
  /** A button next to the text. */
  action?: { label: string; message: 'wake' | 'restartServer' };
}

export interface ChatSnapshot {
  turns: ChatTurn[];
  busy: boolean;
  includeContext: boolean;
  /** What would be sent as context now; null when no editor is open. */
  contextLabel: string | null;
  banner: ModelBanner | null;
  /** The kept chat on screen; null when nothing of it was kept yet. */
  chatId: string | null;
}

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string; mentions?: MentionRef[] }
  /** The input or its chips changed: the question being written, for the model to read ahead. */
  | { type: 'draft'; text: string; mentions?: MentionRef[] }
  | { type: 'mentionQuery'; id: number; kind: MentionQueryKind; query: string }
  | { type: 'apply'; turnId: string; text: string; info: string }
  | { type: 'listChats' }
  | { type: 'openChat'; id: string }
  | { type: 'deleteChat'; id: string }
  | { type: 'deleteAllChats' }
  | { type: 'stop' }
  | { type: 'newChat' }
  | { type: 'setIncludeContext'; value: boolean }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string }
  | { type: 'wake' }
  | { type: 'restartServer' };

/** Extension -> webview. */
export type ToWebview =
  | { type: 'snapshot'; snapshot: ChatSnapshot }
  | { type: 'turn'; turn: ChatTurn }
  | { type: 'cleared' }
  | { type: 'chunk'; turnId: string; text: string }
  | { type: 'busy'; busy: boolean }
  | { type: 'banner'; banner: ModelBanner | null }
  | { type: 'contextLabel'; label: string | null }
  | { type: 'mentionCandidates'; id: number; items: MentionCandidate[] }
  /** A message that was not sent, given back to the input with why. */
  | { type: 'refused'; message: string; text: string; mentions: MentionRef[] }
  /** The kept chats; `note` says why none are kept (setting off, no folder open). */
  | { type: 'chats'; chats: KeptChatEntry[]; note: string | null };

const fromWebviewTypes: ReadonlySet<string> = new Set<FromWebview['type']>([
  'ready',
  'send',
  'draft',
  'mentionQuery',
  'apply',
  'listChats',
  'openChat',
  'deleteChat',
  'deleteAllChats',
  'stop',
  'newChat',
  'setIncludeContext',
  'copy',
  'insert',
  'wake',
  'restartServer',
]);

const mentionKindNames: ReadonlySet<string> = new Set<ChatPartKind>(['file', 'selection', 'symbol', 'problems', 'changes', 'codebase']);
const queryKinds: ReadonlySet<string> = new Set<MentionQueryKind>(['file', 'symbol', 'problems']);

function isLine(v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
}

export function isMentionRef(value: unknown): value is MentionRef {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.kind === 'string' &&
    mentionKindNames.has(r.kind) &&
    typeof r.label === 'string' &&
    (r.uri === undefined || typeof r.uri === 'string') &&
    isLine(r.startLine) &&
    isLine(r.endLine)
  );
}

/** Checks a message from the webview before the extension acts on it. */
export function isFromWebview(value: unknown): value is FromWebview {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (typeof m.type !== 'string' || !fromWebviewTypes.has(m.type)) return false;
  switch (m.type) {
    case 'send':
    case 'draft':
      return typeof m.text === 'string' && (m.mentions === undefined || (Array.isArray(m.mentions) && m.mentions.every(isMentionRef)));
    case 'mentionQuery':
      return typeof m.id === 'number' && typeof m.kind === 'string' && queryKinds.has(m.kind) && typeof m.query === 'string';
    case 'apply':
      return typeof m.turnId === 'string' && typeof m.text === 'string' && typeof m.info === 'string';
    case 'openChat':
    case 'deleteChat':
      return typeof m.id === 'string';
    case 'copy':
    case 'insert':
      return typeof m.text === 'string';
    case 'setIncludeContext':
      return typeof m.value === 'boolean';
    default:
      return true;
  }
}
