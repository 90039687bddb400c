// The chat webview's contract: every message between it (chat.ts) and the extension, as one typed
// union per direction, and the check the extension runs on what arrives. The webview owns it;
// client/src/chat imports it from here (media/ never imports the client).

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
}

/** Webview -> extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
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
  | { type: 'contextLabel'; label: string | null };

const fromWebviewTypes: ReadonlySet<string> = new Set<FromWebview['type']>([
  'ready',
  'send',
  'stop',
  'newChat',
  'setIncludeContext',
  'copy',
  'insert',
  'wake',
  'restartServer',
]);

/** Checks a message from the webview before the extension acts on it. */
export function isFromWebview(value: unknown): value is FromWebview {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (typeof m.type !== 'string' || !fromWebviewTypes.has(m.type)) return false;
  switch (m.type) {
    case 'send':
    case 'copy':
    case 'insert':
      return typeof m.text === 'string';
    case 'setIncludeContext':
      return typeof m.value === 'boolean';
    default:
      return true;
  }
}
