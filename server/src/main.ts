// Entry of the language server. VS Code starts it over Node IPC; other editors use `--stdio`.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';
import { errorStack } from './shared/errors';

const connection = createConnection(ProposedFeatures.all);
// A crash in one request must not take the server (and the user's model) down with it.
process.on('uncaughtException', (err) => connection.console.error(`Uncaught: ${errorStack(err)}`));
process.on('unhandledRejection', (reason) => connection.console.error(`Unhandled rejection: ${String(reason)}`));
startServer(connection);
