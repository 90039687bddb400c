// The language server's wiring: the connection, the settings, the gate and its driver, and the
// list of features, each of which registers its own handlers and capabilities.
import * as path from 'node:path';
import {
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeResult,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { ChatFeature } from './chat/chatFeature';
import { RemoteAccessFeature } from './engine/remoteAccessFeature';
import { InlineCompletionFeature } from './completion/inlineFeature';
import type { Feature } from './feature';
import { ResumeGate } from './lifecycle/gate';
import { ModelDriver } from './lifecycle/modelDriver';
import { ModelSwitch } from './lifecycle/modelSwitch';
import { buildStatus } from './lifecycle/status';
import { StatusFeature } from './lifecycle/statusFeature';
import { ModelSetupFeature } from './models/modelSetupFeature';
import { systemClock } from './shared/clock';
import { WorkspaceFeature } from './workspace/workspaceFeature';
import type { InitializationOptions } from './shared/protocol';
import { isRemoteEngine, needsReload, normalizeSettings, type Settings } from './shared/settings';
import { waitForFile, type TestHooks } from './shared/testHooks';

const serverInfo = { name: 'local-llm', version: '0.1.0' };

export interface ServerOptions {
  /** The bundled model host; by default host.js beside this file. */
  hostPath?: string;
  /** What tests and benchmarks set (shared/testHooks.ts), read once at start by main.ts; none in use. */
  hooks?: TestHooks;
}

export function startServer(connection: Connection, { hostPath = path.join(__dirname, 'host.js'), hooks = {} }: ServerOptions = {}): void {
  const documents = new TextDocuments(TextDocument);
  let settings: Settings = normalizeSettings(undefined).settings;
  let problems: string[] = [];
  let initialized = false;
  const log = (line: string): void => connection.console.log(line);

  const driver: ModelDriver = new ModelDriver({
    hostPath,
    log,
    settings: () => modelSwitch.effective(settings),
    resolveModelPath: (setting, signal) => setup.resolve(setting, signal),
    resolveChatModelPath: (setting, signal) => setup.resolve(setting, signal, 'chat'),
    stateDir: () => setup.stateDir,
    // Every window whose shared host crashed restarts it; the rendezvous makes that one host.
    onCrash: (message, restart) => {
      gate.crashed(message, { restart });
      if (gate.state === 'loading') log('The model host is started again.');
    },
    onChange: () => status.push(),
    // The shared model host decides the sleep for every window; this window's gate follows it.
    onSharedSleep: (byUser) => void gate.followSleep(byUser),
    onSharedReady: () => void gate.followReady(),
    beforeHostLoad: hooks.loadGateFile === undefined ? undefined : waitForFile(hooks.loadGateFile),
    remote: {
      apiKey: () => remoteAccess.apiKey(),
      notify: (sentence) => remoteAccess.notify(sentence),
      confirmPlainHttp: (host) => remoteAccess.confirmPlainHttp(host),
      pollMs: hooks.remotePollMs,
    },
  });
  const remoteAccess: RemoteAccessFeature = new RemoteAccessFeature({
    connection,
    log,
    // A server that refused the old key is asked again with the new one.
    onKeyChange: () => {
      if (gate.state === 'error') void gate.wake();
    },
  });
  const gate: ResumeGate = new ResumeGate(
    driver,
    systemClock,
    {
      idleMs: gateIdleMs(settings),
      wakeOnActivity: settings.wakeOnActivity,
    },
    log,
  );
  const modelSwitch: ModelSwitch = new ModelSwitch({
    gate,
    resolve: (setting, signal) => setup.resolve(setting, signal),
    abortLoad: () => driver.abortLoad(),
    log,
    showError: (message) => void connection.window.showErrorMessage(message),
    onChange: () => status.push(),
  });
  const setup: ModelSetupFeature = new ModelSetupFeature({
    connection,
    log,
    // The completion model and the chat model (#25): neither may be deleted while loaded.
    inUsePaths: () => [driver.info?.path, driver.chatInfo?.path].filter((p): p is string => typeof p === 'string'),
    vramFreeBytes: () => {
      const { used, total } = driver.vram();
      return used === null || total === null ? null : total - used;
    },
  });
  const status: StatusFeature = new StatusFeature({
    connection,
    gate,
    driver,
    modelSetting: () => (isRemoteEngine(settings) ? settings.engine : settings.model),
    status: () =>
      buildStatus({
        gate,
        driver,
        settings,
        problems: modelSwitch.problem ? [modelSwitch.problem, ...problems] : problems,
        index: workspace.status(),
      }),
  });
  // The workspace index never goes through the gate: indexing neither wakes the model nor delays its sleep.
  const workspace: WorkspaceFeature = new WorkspaceFeature({
    connection,
    log,
    exclude: () => settings.context.exclude,
    onStatus: () => status.push(),
  });
  const features: Feature[] = [
    remoteAccess,
    status,
    setup,
    new InlineCompletionFeature({ connection, documents, gate, driver, settings: () => settings, log }),
    workspace,
    new ChatFeature({ connection, gate, driver, settings: () => settings, workspace: () => workspace.index }),
  ];

  function applySettings(raw: unknown): void {
    const previous = settings;
    const normalized = normalizeSettings(raw);
    settings = normalized.settings;
    // Say each problem once, not again on every unrelated settings change.
    for (const problem of normalized.problems.filter((p) => !problems.includes(p))) {
      log(problem);
      void connection.window.showWarningMessage(`Local LLM: ${problem}`);
    }
    problems = normalized.problems;
    gate.configure({ idleMs: gateIdleMs(settings), wakeOnActivity: settings.wakeOnActivity });
    driver.configure();
    workspace.settingsChanged();
    if (initialized && needsReload(previous, settings)) modelSwitch.apply(previous, settings);
    status.push();
  }

  connection.onInitialize((params): InitializeResult => {
    const capabilities: ServerCapabilities = { textDocumentSync: TextDocumentSyncKind.Incremental };
    for (const feature of features) Object.assign(capabilities, feature.initialize(params));
    applySettings((params.initializationOptions as InitializationOptions | undefined)?.settings);
    return { capabilities, serverInfo };
  });

  connection.onInitialized(() => {
    initialized = true;
    for (const feature of features) feature.initialized?.();
    // An empty model setting means the recommended preset, so there is always a model to load.
    void gate.start(settings.loadOnStartup);
  });

  connection.onDidChangeConfiguration((change) => {
    const all: unknown = change.settings;
    const ours = typeof all === 'object' && all !== null && 'localLlm' in all ? (all as { localLlm: unknown }).localLlm : all;
    applySettings(ours);
  });

  let shuttingDown = false;
  connection.onShutdown(async () => {
    shuttingDown = true;
    gate.dispose();
    await Promise.all(features.map((f) => f.shutdown?.()));
    await driver.dispose();
  });
  connection.onExit(() => {
    if (!shuttingDown) void driver.dispose();
  });

  documents.listen(connection);
  connection.listen();
}

/**
 * The local model's idle time is the shared host's (it counts every window's activity), so the
 * gate keeps none; a model server is this window's alone to stop using.
 */
function gateIdleMs(settings: Settings): number {
  return isRemoteEngine(settings) ? settings.sleepIdleSeconds * 1000 : 0;
}
