// The model host as the child of one language server, serving the engine (engine.ts) over IPC
// (vscode-jsonrpc). It ends with its server: when the IPC channel closes, or when the server's
// pid is gone.
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { abortSignalOf } from '../shared/cancellation';
import { processPresence } from '../shared/processes';
import { answer as answerWith } from './answer';
import type { LlamaEngine } from './llama/llamaEngine';
import * as host from './protocol';

/** How long the shutdown waits for node-llama-cpp to dispose before the process exits anyway. */
const disposeBoundMs = 1500;
/** How often the host checks that its language server is still there. */
const parentCheckMs = 2000;

/** The server is there; another user's process under its pid means the pid was reused. */
function isAlive(pid: number): boolean {
  return processPresence(pid) === 'ours';
}

export function serveParent(engine: LlamaEngine, log: (line: string) => void): void {
  const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

  /** Whatever a handler throws reaches the server as one sentence, never as a stack. */
  function answer<T>(work: () => Promise<T>): Promise<T> {
    return answerWith(log, work);
  }

  connection.onRequest(host.loadRequest, (params, token) => answer(() => engine.load(params, abortSignalOf(token))));
  connection.onRequest(host.saveStateRequest, (params) => answer(() => engine.saveStates(params.capBytes)));
  connection.onRequest(host.unloadRequest, () => answer(() => engine.unload()));
  connection.onRequest(host.infillRequest, (params, token) => answer(() => engine.infill(params, abortSignalOf(token))));
  connection.onRequest(host.prefillRequest, (params, token) => answer(() => engine.prefill(params, abortSignalOf(token))));
  connection.onRequest(host.chatRequest, (params, token) =>
    answer(() =>
      engine.chat(
        { messages: params.messages, maxTokens: params.maxTokens },
        (text) => void connection.sendNotification(host.chatChunkNotification, { streamId: params.streamId, text }).catch(() => undefined),
        abortSignalOf(token),
      ),
    ),
  );
  connection.onRequest(host.statsRequest, () => answer(() => engine.stats()));
  connection.onRequest(host.pingRequest, () => undefined);
  connection.onRequest(host.shutdownRequest, () =>
    answer(async () => {
      // Disposing is bounded: the process exit frees whatever is left, and a clean exit of our own
      // must come before the server's SIGTERM.
      const disposed = await Promise.race([
        engine.dispose().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), disposeBoundMs)),
      ]);
      if (!disposed) log(`Disposing the model did not finish within ${disposeBoundMs} ms; the process exits anyway.`);
      // Let the reply leave before the process does.
      setTimeout(() => process.exit(0), 20);
    }),
  );

  // The language server is gone: nobody can use the model any more.
  process.on('disconnect', () => process.exit(0));
  // A host that was stopped (SIGSTOP, a debugger, a frozen cgroup) while its server died must end
  // as soon as it runs again, even if the closed channel is not noticed at once.
  const serverPid = process.ppid;
  function exitIfOrphaned(): void {
    if (!process.connected || !isAlive(serverPid)) process.exit(0);
  }
  if (process.platform !== 'win32') process.on('SIGCONT', exitIfOrphaned);
  setInterval(exitIfOrphaned, parentCheckMs).unref();
  connection.listen();
}
