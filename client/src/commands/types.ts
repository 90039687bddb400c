// What a command is and what its handlers may use. Types only: the Ctx implements CommandCtx,
// so nothing in commands/ needs ctx.ts (no import cycle, not even of types).
import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { ModelStatus } from '../../../server/src/shared/protocol';
import type { Settings } from '../../../server/src/shared/settings';
import type { PromptView } from '../context/promptView';
import type { LastChatPrompt, LastCompletionPrompt } from '../../../server/src/shared/protocol';
import type { EditProposals, ProposalReport } from '../edits/proposals';
import type { ClientState } from '../status/render';
import type { CommandId } from './ids';

export type { CommandId } from './ids';

/** The part of the Ctx that command handlers use. */
export interface CommandCtx {
  readonly log: vscode.LogOutputChannel;
  readonly clientState: ClientState;
  readonly status: ModelStatus | null;
  /** Our settings, normalized; kept current as the configuration changes. */
  readonly settings: Settings;
  sleep(): Promise<ModelStatus>;
  wake(): Promise<ModelStatus>;
  restart(): Promise<void>;
  /** The read-only document of the last completion's prompt. */
  readonly promptView: PromptView<LastCompletionPrompt>;
  /** The same for the last chat turn. */
  readonly chatPromptView: PromptView<LastChatPrompt>;
  /** The change under review (Apply, Edit Selection), with Accept and Reject. */
  readonly proposals: EditProposals;
  /** Edit Selection in the active editor; asks for the instruction when none is given. */
  editSelection(instruction?: string): Promise<ProposalReport | null>;
  /** Stores the model server's API key in secret storage (empty: removes it) and tells the server. */
  setApiKey(key: string): Promise<void>;
}

/** A CommandCtx whose language client is known to be running. */
export interface CtxInit {
  ctx: CommandCtx;
  client: LanguageClient;
}

export type CommandHandler = (...args: unknown[]) => unknown;

export interface Command {
  /** Command palette title; package.json mirrors it (test/unit/contribution.test.ts). */
  title: string;
  /** Command palette `when` clause; absent means always offered. */
  when?: string;
  /** The handler while the server runs. */
  enabled: (init: CtxInit) => CommandHandler;
  /** The handler while it does not; absent means a uniform "not running" message. */
  disabled?: (ctx: CommandCtx) => CommandHandler;
}

export type CommandTable = Record<CommandId, Command>;
