// A real LSP client connection to the built server over stdio, for the server tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  InitializeRequest,
  InitializedNotification,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidChangeConfigurationNotification,
  ShutdownRequest,
  ExitNotification,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { DidChangeStateNotification, StatusRequest, type ModelState, type ModelStatus } from '../../server/src/shared/protocol';
import { testHooksEnv, testHooksVariable, type TestHooks } from '../../server/src/shared/testHooks';

export const serverPath = path.resolve(__dirname, '../../dist/server.js');

export interface TestServer {
  connection: ProtocolConnection;
  process: ChildProcess;
  statuses: ModelStatus[];
  logs: string[];
  /** Resolves with the first status (already seen or future) that satisfies the predicate. */
  waitFor(predicate: (s: ModelStatus) => boolean, what: string, timeoutMs?: number): Promise<ModelStatus>;
  waitForState(state: ModelState, timeoutMs?: number): Promise<ModelStatus>;
  status(): Promise<ModelStatus>;
  open(uri: string, text: string, languageId?: string): void;
  /** Replaces the whole text of an open document. */
  change(uri: string, version: number, text: string): void;
  configure(settings: Record<string, unknown>): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The extension's storage; by default a new temporary folder, removed on stop (the state kept across sleep goes there). */
  storageDir?: string;
  /**
   * Extra environment for the server process (e.g. LOCAL_LLM_HF_ENDPOINT). Test hooks given here
   * (testHooksEnv) are merged with the defaults, not put in their place.
   */
  env?: Record<string, string>;
  /** Answers window/showMessageRequest; the default dismisses it. */
  onMessageRequest?(params: { message: string; actions?: Array<{ title: string }> }): { title: string } | null;
  /** Every window/workDoneProgress/create the server asked for. */
  progressTokens?: unknown[];
  /** The model server API key, as the client sends it from secret storage. */
  apiKey?: string;
  /** Workspace folders (absolute paths) sent with initialize; none by default. */
  workspaceFolders?: string[];
}

/** Rendezvous folders of servers a test killed (and so never stopped): removed when the test process ends. */
const runtimeDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of runtimeDirs) rmSync(dir, { recursive: true, force: true });
});

/** The test hooks an environment sets; none when it sets none. */
function hooksIn(env: Record<string, string | undefined> | undefined): TestHooks {
  const raw = env?.[testHooksVariable];
  return raw ? (JSON.parse(raw) as TestHooks) : {};
}

/**
 * The settings of a small window that sleeps and wakes only when asked: a 1,024-token context, one
 * thread, no idle sleep, no wake on activity, short completions at once; `extra` on top.
 */
export function quietWindow(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    contextSize: 1024,
    threads: 1,
    sleepIdleSeconds: 0,
    wakeOnActivity: false,
    completion: { debounceMs: 0, maxTokens: 8, maxLines: 2 },
    ...extra,
  };
}

export async function startServer(settings: Record<string, unknown>, options: StartOptions = {}): Promise<TestServer> {
  const ownStorage = options.storageDir === undefined ? mkdtempSync(path.join(os.tmpdir(), 'local-llm-storage-')) : null;
  const storageDir = options.storageDir ?? ownStorage!;
  // Each server meets its model host in a folder of its own unless the test shares one: tests never
  // share a host with each other or with the user's editor. A host outlives its last server by 1 s.
  const ownRuntime = options.env?.['LOCAL_LLM_RUNTIME_DIR'] === undefined ? mkdtempSync(path.join(os.tmpdir(), 'llm-rt-')) : null;
  const hooks: TestHooks = { hostGraceMs: 1000, ...hooksIn(process.env), ...hooksIn(options.env) };
  const env = {
    ...process.env,
    ...(ownRuntime ? { LOCAL_LLM_RUNTIME_DIR: ownRuntime } : {}),
    ...options.env,
    ...testHooksEnv(hooks),
  };
  if (ownRuntime) runtimeDirs.add(ownRuntime);
  const child = spawn(process.execPath, [serverPath, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const logs: string[] = [];
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const statuses: ModelStatus[] = [];
  const waiters: Array<() => void> = [];
  connection.onNotification(DidChangeStateNotification.type, (s) => {
    statuses.push(s);
    for (const w of [...waiters]) w();
  });
  connection.onNotification('window/logMessage', (p: { message: string }) => void logs.push(p.message));
  connection.onNotification('window/showMessage', (p: { message: string }) => void logs.push(`[shown] ${p.message}`));
  connection.onRequest('window/showMessageRequest', (p: { message: string; actions?: Array<{ title: string }> }) => {
    logs.push(`[asked] ${p.message}`);
    return options.onMessageRequest?.(p) ?? null;
  });
  connection.onRequest('window/workDoneProgress/create', (p: { token: unknown }) => {
    options.progressTokens?.push(p.token);
    return null;
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: options.workspaceFolders?.[0] ? pathToFileURL(options.workspaceFolders[0]).href : null,
    ...(options.workspaceFolders
      ? { workspaceFolders: options.workspaceFolders.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })) }
      : {}),
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions: { storageDir, settings, ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}) },
  });
  await connection.sendNotification(InitializedNotification.type, {});

  const waitFor = (predicate: (s: ModelStatus) => boolean, what: string, timeoutMs = 60_000): Promise<ModelStatus> =>
    new Promise((resolve, reject) => {
      const found = statuses.find(predicate);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`Timed out waiting for ${what}; states seen: ${statuses.map((s) => s.state).join(' ')}\n${logs.join('')}`));
      }, timeoutMs);
      const check = (): void => {
        const s = statuses[statuses.length - 1];
        if (s && predicate(s)) {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(s);
        }
      };
      waiters.push(check);
    });

  return {
    connection,
    process: child,
    statuses,
    logs,
    waitFor,
    waitForState: (state, timeoutMs) => {
      // The latest known status counts, older ones do not.
      const from = Math.max(0, statuses.length - 1);
      return waitFor((s) => s.state === state && statuses.indexOf(s) >= from, `state ${state}`, timeoutMs);
    },
    status: () => connection.sendRequest(StatusRequest.type),
    open: (uri, text, languageId = 'typescript') =>
      void connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } }),
    change: (uri, version, text) =>
      void connection.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version },
        contentChanges: [{ text }],
      }),
    configure: (next) => void connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { localLlm: next } }),
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await Promise.race([connection.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 5000))]);
        await connection.sendNotification(ExitNotification.type);
      } catch {
        // The connection may already be gone; the kill below still runs.
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      connection.dispose();
      if (ownStorage) rmSync(ownStorage, { recursive: true, force: true });
      // The host may still be on its way out (grace period): its socket and lock go with it.
      if (ownRuntime) {
        rmSync(ownRuntime, { recursive: true, force: true });
        runtimeDirs.delete(ownRuntime);
      }
    },
  };
}
