// The saved states of one load's sequences (sequenceState.ts has the files and their records):
// saved to the state folder before a sleep and restored once, before the first request that
// needs them, after the wake; and, on a host several windows share, each window's completion
// state kept in a private folder while another window holds the sequence (windowStates.ts), so
// that A, B, A does not evaluate A's prompt again; the same for the chat sequence's conversations
// (#21: a kept chat reopened, or one window's chat after another's, continues from its own tokens).
// A failed save or restore costs the reuse only:
// one line in the log, and the prompt is evaluated again.
import { chmod, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { processPresence } from '../../shared/processes';
import { nativeMessage } from '../engineError';
import type { HostChatMessage, SaveStateResult } from '../../engine/types';
import { binOf, removeState, stateBase, type SequenceKind } from '../../shared/stateFiles';
import {
  ensureStateDir,
  modelIdentity,
  pruneStates,
  readStateRecord,
  recordMismatch,
  writeStateRecord,
  type ModelIdentity,
  type StateRecord,
} from '../sequenceState';
import { sequenceIn, type LoadedModel } from './loadedModel';
import { continuesConversation, parseChatTokenRecord, type ChatTokenRecord } from './chatTokens';
import { WindowStates } from './windowStates';

/**
 * The window a completion comes from on a host several windows share, as the host names it (never
 * the window itself), and the bytes its other windows' saved states may take together.
 */
export interface CompletionOwner {
  key: string;
  capBytes: number;
}

/** A window's saved completion state: its files' base (sequenceState.ts) and its kept text before the cursor line. */
interface WindowFile {
  base: string;
  keptBeforeLine: string | null;
}

/** Windows whose completion state is kept besides the one the sequence holds. */
export const keptWindowStates = 4;

/** A conversation's saved chat state: its files' base and what its tokens hold. */
interface ChatFile {
  base: string;
  record: ChatTokenRecord;
}

/** Conversations whose chat state is kept besides the one the chat sequence holds. */
export const keptChatStates = 4;

export interface StateLog {
  /** Lines for every log (a state that could not be kept or loaded). */
  log(line: string): void;
  /** Lines for the host's own log only (a window switch's save and restore times). */
  trace(line: string): void;
}

let versionOfLibrary: string | null = null;

/**
 * node-llama-cpp's version, as it reads it from its package.json (the package's own entry is
 * not shipped: the library is bundled); a state file is only loaded by the version that wrote it.
 */
async function libraryVersion(): Promise<string> {
  if (versionOfLibrary !== null) return versionOfLibrary;
  const version: unknown = await (await import('node-llama-cpp')).getModuleVersion();
  if (typeof version !== 'string' || version === '') throw new Error('node-llama-cpp has no version');
  versionOfLibrary = version;
  return versionOfLibrary;
}

export class SequenceStateStore {
  /** Sequences whose saved state is still to be restored, by the first request that needs it. */
  private readonly pendingRestore: Set<SequenceKind>;
  /** Which window's tokens the completion sequence holds, and the others' saved states. */
  private readonly windows = new WindowStates<WindowFile>(keptWindowStates);
  /** Which conversation the chat sequence holds (by its record's conversationKey), and the others' saved states. */
  private readonly chats = new WindowStates<ChatFile>(keptChatStates);
  /** This load's private folder of window states; made at the first save, removed with the load. */
  private windowDir: Promise<string> | null = null;
  /** Names the next window state file. */
  private windowFiles = 0;

  private constructor(
    private readonly loaded: LoadedModel,
    /** Where the sequences' state is kept across sleep; null keeps none. */
    private readonly stateDir: string | null,
    private readonly identity: ModelIdentity | null,
    private readonly out: StateLog,
    /** The sequences this load serves (#25: a model of one role keeps only that one's state). */
    private readonly kinds: readonly SequenceKind[],
  ) {
    this.pendingRestore = new Set(identity ? kinds : []);
  }

  /** The store of a load that keeps its state in `stateDir` (null: none across sleep; window states still kept). */
  static async open(
    loaded: LoadedModel,
    modelPath: string,
    stateDir: string | null,
    out: StateLog,
    kinds: readonly SequenceKind[] = ['completion', 'chat'],
  ): Promise<SequenceStateStore> {
    let identity: ModelIdentity | null = null;
    if (stateDir !== null) {
      try {
        identity = await modelIdentity(modelPath);
      } catch (err) {
        out.log(`No state is kept across sleep: ${nativeMessage(err)}.`);
      }
    }
    return new SequenceStateStore(loaded, stateDir, identity, out, kinds);
  }

  /** Whether `kind`'s saved state is still to be restored. */
  pending(kind: SequenceKind): boolean {
    return this.pendingRestore.has(kind);
  }

  /**
   * Restores the saved state of a sequence, once, before the first request that uses it after a
   * load. A state whose record does not match this load, or whose file is not the size recorded
   * or does not load, is deleted and the sequence starts empty.
   */
  async restore(kind: SequenceKind): Promise<void> {
    if (!this.pendingRestore.delete(kind) || !this.stateDir || !this.identity) return;
    const base = stateBase(this.stateDir, this.identity.modelPath, kind);
    const record = await this.loadSaved(kind, base, `saved ${kind} state ${path.basename(base)}`);
    if (record && kind === 'completion') this.loaded.keptBeforeLine = record.keptBeforeLine;
    // #24: the restored chat tokens' conversation; a record without one (or not one) means a full evaluation.
    if (record && kind === 'chat') this.loaded.chatTurns.record = parseChatTokenRecord(record.chat);
  }

  /**
   * Before a sleep: saves each sequence that holds tokens to the state folder, with its record,
   * then trims the folder to `capBytes`. A sequence whose saved state was never restored keeps
   * its file. Never throws for a failed save: the reuse is lost, and the log says so.
   */
  async saveAll(capBytes: number): Promise<SaveStateResult> {
    const saved: SaveStateResult['saved'] = [];
    const { stateDir: dir, identity } = this;
    if (!dir || !identity || capBytes <= 0) return { saved };
    try {
      await ensureStateDir(dir);
      for (const kind of this.kinds) {
        if (this.pendingRestore.has(kind) || sequenceIn(this.loaded, kind).contextTokens.length === 0) continue;
        const base = stateBase(dir, identity.modelPath, kind);
        const temporary = `${base}.saving`;
        try {
          const record = await this.saveSequence(identity, kind, temporary);
          // The record goes first: a .bin without its record is never loaded.
          await removeState(base);
          await rename(temporary, binOf(base));
          await writeStateRecord(base, record);
          saved.push({ kind, tokens: record.tokenCount, bytes: record.bytes });
        } catch (err) {
          await rm(temporary, { force: true }).catch(() => undefined);
          await removeState(base).catch(() => undefined);
          this.out.log(`Could not save the ${kind} state (${nativeMessage(err)}); after the wake it is evaluated again.`);
        }
      }
      for (const base of await pruneStates(dir, capBytes))
        this.out.log(`Removed the state ${path.basename(base)}: over localLlm.stateCacheMB.`);
    } catch (err) {
      this.out.log(`Could not keep the model's state across sleep (${nativeMessage(err)}); after the wake it is evaluated again.`);
    }
    return { saved };
  }

  /**
   * Before a completion of `owner` on a shared host: when the completion sequence holds another
   * window's tokens, saves them (that window's state) and loads `owner`'s own saved state, if it
   * has one; the prompt's prefix reuse then evaluates only what differs. Runs in the completion
   * lane: node-llama-cpp's context lock keeps the save and load from overlapping a chat decode.
   */
  async switchTo(owner: CompletionOwner | undefined): Promise<void> {
    if (!owner) return;
    const { windows, loaded } = this;
    const plan = windows.plan(owner.key);
    if (plan.save === null && plan.restore === null) {
      windows.hold(owner.key);
      return;
    }
    if (plan.save !== null && owner.capBytes > 0 && this.identity && loaded.sequence.contextTokens.length > 0) {
      await this.saveWindow(plan.save, owner.capBytes);
    }
    windows.hold(owner.key);
    // Whatever the sequence holds now is no longer the cut point of this window's text.
    loaded.keptBeforeLine = null;
    if (plan.restore === null) return;
    const started = performance.now();
    const record = await this.loadSaved('completion', plan.restore.base, `completion state of ${owner.key}`);
    await removeState(plan.restore.base).catch(() => undefined);
    if (!record) return;
    loaded.keptBeforeLine = plan.restore.keptBeforeLine;
    this.out.trace(
      `Window switch: restored the completion state of ${owner.key} (${record.tokenCount} tokens, ${record.bytes} bytes) in ${(performance.now() - started).toFixed(1)} ms.`,
    );
  }

  /**
   * Before a chat turn of `messages`: when the chat sequence holds another conversation, saves it
   * (within `capBytes`, the windows' state allowance) and loads the saved state of the
   * conversation these messages continue, if one is kept; the turn then evaluates only its new
   * part (chatTurns.ts). Runs in the chat lane, like the turn.
   */
  async switchChat(messages: readonly HostChatMessage[], capBytes: number): Promise<void> {
    const { chats, loaded } = this;
    const held = loaded.chatTurns.record;
    if (held && continuesConversation(held, messages)) return;
    const wanted = chats.find((file) => continuesConversation(file.record, messages));
    if (wanted === null && (!held || capBytes <= 0)) return;
    chats.hold(held?.conversationKey ?? null);
    const plan = chats.plan(wanted ?? '');
    if (plan.save !== null && held && capBytes > 0 && this.identity && loaded.chatSequence.contextTokens.length > 0) {
      await this.keepState('chat', plan.save, capBytes, (base) => ({ base, record: held }), chats);
    }
    chats.hold(null);
    if (plan.restore === null) return;
    const started = performance.now();
    const record = await this.loadSaved('chat', plan.restore.base, 'chat state of another conversation');
    await removeState(plan.restore.base).catch(() => undefined);
    const restored = record ? parseChatTokenRecord(record.chat) : null;
    if (!restored) return;
    loaded.chatTurns.record = restored;
    this.out.trace(
      `Chat switch: restored another conversation's chat state (${record!.tokenCount} tokens, ${record!.bytes} bytes) in ${(performance.now() - started).toFixed(1)} ms.`,
    );
  }

  /** A window detached from the shared host: its saved completion state is deleted, never to be restored. */
  async forget(key: string): Promise<void> {
    const file = this.windows.forget(key);
    if (file) await removeState(file.base).catch(() => undefined);
  }

  /** The load ends: window states belong to its sequence, so the next load starts without them. */
  async close(): Promise<void> {
    this.windows.clear();
    this.chats.clear();
    if (this.windowDir) {
      await this.windowDir.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => undefined);
    }
  }

  /**
   * Writes the evaluated state of `kind`'s sequence to `file` (0600) and returns the record that
   * describes it, for the caller to write once the file is in its place.
   */
  private async saveSequence(identity: ModelIdentity, kind: SequenceKind, file: string): Promise<StateRecord> {
    const sequence = sequenceIn(this.loaded, kind);
    // Drafted tokens still waiting for verification sit in the KV cache past contextTokens, and
    // the file would hold them with a token list that does not: a restored sequence then fails
    // every later evaluation ("Eval has failed"). Erasing past the accepted tokens drops them.
    await sequence.eraseContextTokenRanges([{ start: sequence.contextTokens.length, end: sequence.contextSize }]);
    const tokenCount = sequence.contextTokens.length;
    const { fileSize } = await sequence.saveStateToFile(file);
    await chmod(file, 0o600);
    return {
      format: 1,
      ...identity,
      kind,
      contextSize: sequence.contextSize,
      engineVersion: await libraryVersion(),
      tokenCount,
      bytes: fileSize,
      keptBeforeLine: kind === 'completion' ? this.loaded.keptBeforeLine : null,
      // #24: what the chat's tokens hold, so a follow-up after the wake evaluates only its new part.
      chat: kind === 'chat' ? this.loaded.chatTurns.record : null,
    };
  }

  /**
   * Loads the state saved at `base` into the sequence of `kind` when its record matches this
   * load and its file is the size recorded; else deletes it, logs why (naming it `what`) and
   * leaves the sequence as it was (emptied when llama.cpp failed half way). The record, or null.
   */
  private async loadSaved(kind: SequenceKind, base: string, what: string): Promise<StateRecord | null> {
    const sequence = sequenceIn(this.loaded, kind);
    const refuse = async (why: string): Promise<null> => {
      await removeState(base).catch(() => undefined);
      this.out.log(`Deleted the ${what} unloaded: ${why}.`);
      return null;
    };
    if (!this.identity) return null;
    let record;
    try {
      record = await readStateRecord(base);
    } catch (err) {
      return refuse(`its record is unreadable (${nativeMessage(err)})`);
    }
    if (!record) return null;
    const why = recordMismatch(record, {
      ...this.identity,
      contextSize: sequence.contextSize,
      engineVersion: await libraryVersion(),
      kind,
    });
    if (why !== null) return refuse(why);
    let bytes: number;
    try {
      bytes = (await stat(binOf(base))).size;
    } catch {
      return refuse('its state file is missing');
    }
    if (bytes !== record.bytes) return refuse(`its state file has ${bytes} bytes, not the ${record.bytes} written (truncated)`);
    try {
      // The risk node-llama-cpp names is a file from another model: the record says it is not.
      await sequence.loadStateFromFile(binOf(base), { acceptRisk: true });
    } catch (err) {
      await sequence.clearHistory().catch(() => undefined);
      return refuse(`llama.cpp could not load it (${nativeMessage(err)})`);
    }
    return record;
  }

  /** Saves the completion sequence as `key`'s state in this load's window folder, then drops the states over the count or `capBytes`. */
  private saveWindow(key: string, capBytes: number): Promise<void> {
    const keptBeforeLine = this.loaded.keptBeforeLine;
    return this.keepState('completion', key, capBytes, (base) => ({ base, keptBeforeLine }), this.windows);
  }

  /**
   * Saves `kind`'s sequence as `key`'s state in this load's private folder and keeps it in
   * `kept` (as `value` of its base), dropping the states over the count or `capBytes`. A failed
   * save costs only that reuse, with one line in the log.
   */
  private async keepState<T extends { base: string }>(
    kind: SequenceKind,
    key: string,
    capBytes: number,
    value: (base: string) => T,
    kept: WindowStates<T>,
  ): Promise<void> {
    const { identity } = this;
    if (!identity) return;
    const what = kind === 'completion' ? `the completion state of ${key}` : "another conversation's chat state";
    const started = performance.now();
    let base: string | null = null;
    try {
      this.windowDir ??= this.makeWindowDir();
      base = path.join(await this.windowDir, `${kind === 'completion' ? 'window' : 'chat'}-${++this.windowFiles}`);
      const record = await this.saveSequence(identity, kind, binOf(base));
      await writeStateRecord(base, record);
      for (const dropped of kept.keep(key, record.bytes, value(base), capBytes)) {
        await removeState(dropped.base).catch(() => undefined);
      }
      this.out.trace(
        `${kind === 'completion' ? 'Window' : 'Chat'} switch: saved ${what} (${record.tokenCount} tokens, ${record.bytes} bytes) in ${(performance.now() - started).toFixed(1)} ms.`,
      );
    } catch (err) {
      if (base !== null) await removeState(base).catch(() => undefined);
      this.out.log(
        kind === 'completion'
          ? `Could not keep the completion state of another window (${nativeMessage(err)}); its next completion evaluates its prompt again.`
          : `Could not keep ${what} (${nativeMessage(err)}); its next turn evaluates its history again.`,
      );
    }
  }

  /**
   * A private folder (0700; mkdtemp makes it so) for this load's window states: under the state
   * folder when the load keeps one, else the temp folder. Folders in the state folder that a host
   * left when it crashed (its pid is gone) are removed.
   */
  private async makeWindowDir(): Promise<string> {
    if (!this.stateDir) return mkdtemp(path.join(os.tmpdir(), `local-llm-windows-${process.pid}-`));
    const parent = this.stateDir;
    await ensureStateDir(parent);
    for (const name of await readdir(parent).catch(() => [])) {
      const pid = /^windows-(\d+)-/.exec(name)?.[1];
      if (pid !== undefined && Number(pid) !== process.pid && processPresence(Number(pid)) === 'none') {
        await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
    return mkdtemp(path.join(parent, `windows-${process.pid}-`));
  }
}
