// The workspace index as a server feature: its folders from `initialize` (workspaceFolders, else
// rootUri), its file in the extension's storage, built once the client is ready. Kept current by
// the client's file watcher where the client lets the server register one
// (`workspace/didChangeWatchedFiles` with dynamic registration: VS Code, Neovim), else by a walk
// every minute that only stats (an unchanged file is never read again). A change of
// `localLlm.context.exclude` walks again at once. Folders added or removed while running
// (`workspace/didChangeWorkspaceFolders`) change what the index covers.
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DidChangeWatchedFilesNotification,
  DidChangeWorkspaceFoldersNotification,
  FileChangeType,
  type Connection,
  type InitializeParams,
  type ServerCapabilities,
  type WorkspaceFoldersChangeEvent,
} from 'vscode-languageserver/node';
import type { Feature } from '../feature';
import type { InitializationOptions, WorkspaceIndexStatus } from '../shared/protocol';
import { WorkspaceIndex } from './workspaceIndex';

export interface WorkspaceFeatureOptions {
  connection: Connection;
  log(line: string): void;
  /** `localLlm.context.exclude` as of now. */
  exclude(): readonly string[];
  /** The index's status changed. */
  onStatus(): void;
}

/** Without a file watcher from the client, the folders are walked again this often. */
export const rescanEveryMs = 60_000;

export class WorkspaceFeature implements Feature {
  private workspaceIndex: WorkspaceIndex | null = null;
  private roots: string[] = [];
  private storageDir = '';
  private watcher = false;
  private initializedYet = false;
  private watching = false;
  private poll: NodeJS.Timeout | null = null;
  private excludeSeen: readonly string[] = [];

  constructor(private readonly options: WorkspaceFeatureOptions) {}

  /** The index; null before initialize or without a workspace folder. */
  get index(): WorkspaceIndex | null {
    return this.roots.length > 0 ? this.workspaceIndex : null;
  }

  status(): WorkspaceIndexStatus | null {
    return this.index?.status() ?? null;
  }

  initialize(params: InitializeParams): ServerCapabilities {
    this.roots = workspaceRoots(params);
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    this.storageDir = typeof init.storageDir === 'string' ? init.storageDir : path.join(os.homedir(), '.cache', 'local-llm');
    this.watcher = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    this.excludeSeen = this.options.exclude();
    if (this.roots.length > 0) this.workspaceIndex = this.newIndex(this.roots);
    const { connection } = this.options;
    connection.onDidChangeWatchedFiles(({ changes }) => {
      const events = changes.flatMap((c) => {
        const file = filePathOf(c.uri);
        return file ? [{ path: file, deleted: c.type === FileChangeType.Deleted }] : [];
      });
      this.index?.changed(events);
    });
    // Handled here rather than through connection.workspace, whose dynamic registration would make
    // VS Code send each change twice (it already sends them for the static capability below).
    connection.onNotification(DidChangeWorkspaceFoldersNotification.type, (params: unknown) => {
      const event = (params as { event?: unknown } | null)?.event;
      if (typeof event !== 'object' || event === null) {
        this.options.log('workspace/didChangeWorkspaceFolders without an event (added and removed folders) was ignored.');
        return;
      }
      this.foldersChanged(event as WorkspaceFoldersChangeEvent);
    });
    return { workspace: { workspaceFolders: { supported: true, changeNotifications: true } } };
  }

  initialized(): void {
    this.initializedYet = true;
    const index = this.workspaceIndex;
    if (!index) return;
    index.start();
    this.watch();
  }

  /** A folder added: its files join the index; a folder removed: its files leave it. */
  foldersChanged(event: WorkspaceFoldersChangeEvent): void {
    // Folders that are not on disk (another scheme) or not well formed are left out.
    const paths = (folders: unknown): string[] =>
      (Array.isArray(folders) ? (folders as unknown[]) : []).flatMap((f) => {
        const uri = (f as { uri?: unknown } | null)?.uri;
        const p = typeof uri === 'string' ? filePathOf(uri) : null;
        return p ? [path.resolve(p)] : [];
      });
    const removed = new Set(paths(event.removed));
    const next = [...new Set([...this.roots.filter((r) => !removed.has(r)), ...paths(event.added)])];
    if (same(next, this.roots)) return;
    this.roots = next;
    if (!this.workspaceIndex) {
      this.workspaceIndex = this.newIndex(next);
      if (this.initializedYet) {
        this.workspaceIndex.start();
        this.watch();
      }
    } else {
      this.workspaceIndex.setRoots(next);
    }
    this.options.onStatus();
  }

  private newIndex(roots: readonly string[]): WorkspaceIndex {
    return new WorkspaceIndex({
      roots,
      storageDir: this.storageDir,
      exclude: () => this.options.exclude(),
      log: this.options.log,
      onStatus: this.options.onStatus,
    });
  }

  /** Keeps the index current: the editor's file watcher where it lets the server register one, else a slow walk. */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    if (this.watcher) {
      this.options.connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*' }] }).then(
        () => this.options.log('Workspace index: kept current by the editor’s file watcher.'),
        () => this.pollFolders(),
      );
    } else {
      this.pollFolders();
    }
  }

  /** Settings changed: a new exclude list walks the folders again (excluded files leave the index). */
  settingsChanged(): void {
    const exclude = this.options.exclude();
    if (same(exclude, this.excludeSeen)) return;
    this.excludeSeen = exclude;
    this.index?.rescan();
  }

  async shutdown(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    await this.workspaceIndex?.stop();
  }

  private pollFolders(): void {
    this.options.log(
      `Workspace index: the editor has no file watcher for the server; the folders are checked every ${rescanEveryMs / 1000} s.`,
    );
    this.poll = setInterval(() => this.index?.rescan(), rescanEveryMs);
    this.poll.unref();
  }
}

/** The workspace folders on disk: workspaceFolders, else rootUri, else rootPath. */
export function workspaceRoots(params: InitializeParams): string[] {
  const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
  const roots = uris.flatMap((u) => {
    const p = filePathOf(u);
    return p ? [p] : [];
  });
  if (roots.length === 0 && uris.length === 0 && typeof params.rootPath === 'string' && params.rootPath) roots.push(params.rootPath);
  return [...new Set(roots.map((r) => path.resolve(r)))];
}

function filePathOf(uri: string): string | null {
  if (!uri.startsWith('file:')) return null;
  try {
    return fileURLToPath(uri);
  } catch {
    return null;
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
