// The context collectors, their privacy check and the feed, put together for the Ctx: it hands
// in the settings and a sender, and tells it when a new server starts.
import * as vscode from 'vscode';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import type { Settings } from '../../../server/src/shared/settings';
import { watchClipboard } from './clipboardWatch';
import { watchDefinitions } from './definitionWatch';
import { watchEditors } from './editorWatch';
import { ContextFeed } from './feed';
import { ContextPrivacy } from './privacy';

/** Whether chunks go to the server at all: context on, and a token budget to spend. */
export function sendsContext(settings: Settings): boolean {
  return settings.context.enabled && settings.context.tokenBudget > 0;
}

export interface ContextSettingsSource {
  readonly current: Settings;
  readonly onDidChange: vscode.Event<Settings>;
}

export class ContextWatch implements vscode.Disposable {
  private readonly sentEmitter = new vscode.EventEmitter<ContextChunk[]>();
  /** Chunks the server took, one event per notification (the in-VS-Code tests watch it). */
  readonly onDidSend = this.sentEmitter.event;
  private readonly feed: ContextFeed;
  private readonly disposables: vscode.Disposable[];

  constructor(settings: ContextSettingsSource, send: (chunks: ContextChunk[]) => Promise<boolean>) {
    const enabled = (): boolean => sendsContext(settings.current);
    const privacy = new ContextPrivacy(() => settings.current.context.exclude);
    this.feed = new ContextFeed({
      enabled,
      allowed: (chunk) => privacy.allowsChunk(chunk.uri, chunk.path),
      send: async (chunks) => {
        const ok = await send(chunks);
        if (ok) this.sentEmitter.fire(chunks);
        return ok;
      },
    });
    const offer = (chunk: ContextChunk): void => this.feed.offer(chunk);
    this.disposables = [
      this.sentEmitter,
      privacy,
      watchEditors(privacy, offer),
      watchClipboard(privacy, enabled, offer),
      watchDefinitions(privacy, enabled, offer),
      settings.onDidChange(() => this.feed.settingsChanged()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('files.exclude')) this.feed.settingsChanged();
      }),
    ];
  }

  /** A server (re)started: it gets the chunks that are still current. */
  serverStarted(): void {
    this.feed.serverStarted();
  }

  dispose(): void {
    this.feed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
