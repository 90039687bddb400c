// Entry of the language server. VS Code starts it over Node IPC; other editors use `--stdio`.
import { Console } from 'node:console';
import {
  createConnection,
  LogMessageNotification,
  Message,
  MessageType,
  ProposedFeatures,
  StreamMessageReader,
  StreamMessageWriter,
  type Connection,
  type DataCallback,
  type Disposable,
} from 'vscode-languageserver/node';
import { startServer } from './server';
import { errorMessage, errorStack } from './shared/errors';
import { readTestHooks } from './shared/testHooks';

/** Notes whether a shutdown request came, so that the end of the input exits as LSP says. */
class StdinReader extends StreamMessageReader {
  shutdownRequested = false;

  override listen(callback: DataCallback): Disposable {
    return super.listen((message) => {
      if (Message.isRequest(message) && message.method === 'shutdown') this.shutdownRequested = true;
      callback(message);
    });
  }
}

/**
 * The stdio transport, built here rather than by `--stdio` inside createConnection so that its
 * reader's errors are seen: vscode-jsonrpc reports a broken frame (`Content-Length: abc`, a header
 * without a colon) only as a reader error, after which it can no longer find where messages start
 * and ignores everything, leaving a server that is alive but deaf. Such a server exits instead, so
 * the client sees it go and starts a fresh one. A body that is not JSON leaves the framing intact:
 * that message is dropped and the stream read on.
 */
function stdioConnection(): Connection {
  // stdout carries the protocol: anything written to the console goes to stderr.
  globalThis.console = new Console(process.stderr, process.stderr);
  const reader = new StdinReader(process.stdin);
  const connection = createConnection(ProposedFeatures.all, reader, new StreamMessageWriter(process.stdout));
  reader.onError((err) => {
    if (err instanceof SyntaxError) {
      connection.console.error(`Ignored a message whose body is not JSON: ${err.message}`);
      return;
    }
    const reason = errorMessage(err).replace(/\s+/g, ' ');
    const line = `The client's message stream is corrupt (${reason}); exiting so the client can start the server again.`;
    process.stderr.write(`${line}\n`);
    // Exit once the client has the log line, or soon if it cannot take it.
    const exit = (): never => process.exit(1);
    setTimeout(exit, 1000).unref();
    void connection.sendNotification(LogMessageNotification.type, { type: MessageType.Error, message: line }).finally(exit);
  });
  // createConnection does this itself only for the streams it opens.
  const end = (): never => process.exit(reader.shutdownRequested ? 0 : 1);
  process.stdin.once('end', end);
  process.stdin.once('close', end);
  return connection;
}

const connection = process.argv.includes('--stdio') ? stdioConnection() : createConnection(ProposedFeatures.all);
// A crash in one request must not take the server (and the user's model) down with it.
process.on('uncaughtException', (err) => connection.console.error(`Uncaught: ${errorStack(err)}`));
process.on('unhandledRejection', (reason) => connection.console.error(`Unhandled rejection: ${String(reason)}`));
startServer(connection, { hooks: readTestHooks() });
