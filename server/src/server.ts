// The language server: wires the connection to the gate, the model service and the features.
import * as path from 'node:path';
import {
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  ActivityNotification,
  DidChangeStateNotification,
  SleepRequest,
  StatusRequest,
  WakeRequest,
  type ActivityParams,
  type InitializationOptions,
  type ModelStatus,
} from './shared/protocol';
import { needsReload, normalizeSettings, type Settings } from './shared/settings';
import { ResumeGate, systemClock } from './lifecycle/gate';
import { ModelService } from './lifecycle/modelDriver';
import { buildStatus, WakeTracker } from './lifecycle/status';
import { registerChat } from './chat/chatFeature';
import { registerInlineCompletion } from './completion/inlineFeature';
import { registerModelSetup, type ModelSetup } from './models/modelSetupFeature';
import { isRemoteModel } from './models/resolve';

export function startServer(connection: Connection, hostPath = path.join(__dirname, 'host.js')): void {
  const documents = new TextDocuments(TextDocument);
  let settings: Settings = normalizeSettings(undefined).settings;
  let problems: string[] = [];
  // The model actually in use; differs from settings.model while a switch is being checked.
  let effectiveModel: string | null = null;
  let switchProblem: string | null = null;
  let workDoneProgress = false;
  let setup: ModelSetup | null = null;

  const log = (line: string): void => connection.console.log(line);
  const wakes = new WakeTracker();

  const model = new ModelService({
    hostPath,
    log,
    settings: () => (effectiveModel === null ? settings : { ...settings, model: effectiveModel }),
    resolveModelPath: (setting, signal) => {
      if (!setup) throw new Error('The server is not initialized yet.');
      return setup.resolve(setting, signal);
    },
    onCrash: (message) => gate.crashed(message),
    onChange: () => pushStatus(),
  });

  const gate = new ResumeGate(model, systemClock, {
    idleMs: settings.sleepIdleSeconds * 1000,
    wakeOnActivity: settings.wakeOnActivity,
  });

  // Coalesce bursts of changes into one notification per tick.
  let pushScheduled = false;
  let lastSent = '';
  function pushStatus(): void {
    if (pushScheduled) return;
    pushScheduled = true;
    setImmediate(() => {
      pushScheduled = false;
      const status = currentStatus();
      // Memory figures move all the time; only state-like fields decide whether to send. The idle
      // countdown counts when its deadline moved (activity), in steps of 5 s.
      const idleDeadline = status.idleSecondsLeft === null ? null : Math.round((Date.now() / 1000 + status.idleSecondsLeft) / 5);
      const key = JSON.stringify({ ...status, memory: null, idleSecondsLeft: idleDeadline });
      if (key === lastSent) return;
      lastSent = key;
      void connection.sendNotification(DidChangeStateNotification.type, status);
    });
  }
  function currentStatus(): ModelStatus {
    return buildStatus({
      gate,
      model,
      settings,
      wakes,
      completions,
      problems: switchProblem ? [switchProblem, ...problems] : problems,
    });
  }

  let loadingProgress: WorkDoneProgressServerReporter | null = null;
  gate.onDidChange(() => {
    wakes.observe(gate.state, Date.now());
    void reportLoading(gate.state === 'loading' || gate.state === 'waking');
    pushStatus();
  });

  async function reportLoading(busy: boolean): Promise<void> {
    if (!workDoneProgress) return;
    if (busy && !loadingProgress) {
      const name = model.info?.name ?? path.basename(settings.model || 'the model');
      loadingProgress = await connection.window.createWorkDoneProgress();
      loadingProgress.begin('Local LLM', undefined, gate.state === 'waking' ? `Waking ${name}…` : `Loading ${name}…`);
      // The state may have moved on while the progress was being created.
      if (gate.state !== 'loading' && gate.state !== 'waking') void reportLoading(false);
    } else if (!busy && loadingProgress) {
      loadingProgress.done();
      loadingProgress = null;
    }
  }

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
    gate.configure({ idleMs: settings.sleepIdleSeconds * 1000, wakeOnActivity: settings.wakeOnActivity });
    if (needsReload(previous, settings)) {
      model.abortLoad();
      const modelChanged = previous.model !== settings.model;
      // A download may fail for reasons of its own (network, token, disk): keep the working model
      // meanwhile. A local path the user picked is loaded as is, so a bad one shows as an error.
      if (modelChanged && gate.state === 'ready' && isRemoteModel(settings.model)) void switchModel(effectiveModel ?? previous.model, settings.model);
      else {
        if (modelChanged) {
          effectiveModel = null;
          switchProblem = null;
        }
        // A model the user just chose is loaded now, even from sleep, so a bad choice shows at once.
        void gate.reload().then(() => {
          if (modelChanged && gate.state === 'sleeping') void gate.wake();
        });
      }
    }
    pushStatus();
  }

  // A working model is only given up for a remote one once that is downloaded and a complete
  // GGUF; otherwise the old one stays loaded and the user is told why.
  let switchAbort: AbortController | null = null;
  async function switchModel(from: string, to: string): Promise<void> {
    switchAbort?.abort();
    const abort = (switchAbort = new AbortController());
    effectiveModel = from;
    try {
      await setup!.resolve(to, abort.signal);
      if (abort.signal.aborted) return;
      effectiveModel = to;
      switchProblem = null;
      await gate.reload();
    } catch (err) {
      if (abort.signal.aborted) return;
      const reason = err instanceof Error ? err.message : String(err);
      switchProblem = `Still using ${path.basename(from || 'the previous model')}: ${reason}`;
      log(switchProblem);
      void connection.window.showErrorMessage(`Local LLM: ${switchProblem}`);
      pushStatus();
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    workDoneProgress = params.capabilities.window?.workDoneProgress === true;
    setup = registerModelSetup(connection, {
      storageDir: typeof init.storageDir === 'string' ? init.storageDir : null,
      log,
      inUsePath: () => model.info?.path ?? null,
      vramFreeBytes: () => {
        const { used, total } = model.vram();
        return used === null || total === null ? null : total - used;
      },
    });
    applySettings(init.settings);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        inlineCompletionProvider: true,
      },
      serverInfo: { name: 'local-llm', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    const hasModel = settings.model !== '' || setup?.hasDefault() === true;
    void gate.start(settings.loadOnStartup && hasModel).catch(() => undefined);
  });

  connection.onDidChangeConfiguration((change) => {
    const all: unknown = change.settings;
    const ours = typeof all === 'object' && all !== null && 'localLlm' in all ? (all as { localLlm: unknown }).localLlm : all;
    applySettings(ours);
  });

  connection.onRequest(StatusRequest.method, async () => {
    await model.refreshStats();
    return currentStatus();
  });
  // After "Sleep Now" only typing wakes the model: the focus coming back to the editor from the
  // command palette must not undo what the user just asked for.
  let sleptByUser = false;
  connection.onRequest(SleepRequest.method, async () => {
    await gate.sleep();
    sleptByUser = gate.state === 'sleeping';
    return currentStatus();
  });
  connection.onRequest(WakeRequest.method, async () => {
    await gate.wake().catch(() => undefined);
    return currentStatus();
  });
  connection.onNotification(ActivityNotification.method, (params: ActivityParams | undefined) => {
    if (gate.state !== 'sleeping') sleptByUser = false;
    if (sleptByUser && params?.kind !== 'typing') return;
    gate.activity();
    pushStatus();
  });

  const completions = registerInlineCompletion(connection, documents, gate, model, () => settings, log);
  registerChat(connection, gate, model);

  let shuttingDown = false;
  connection.onShutdown(async () => {
    shuttingDown = true;
    gate.dispose();
    await model.dispose();
  });
  connection.onExit(() => {
    if (!shuttingDown) void model.dispose();
  });

  documents.listen(connection);
  connection.listen();
}
