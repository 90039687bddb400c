// The one small interface every server feature implements (after Tabby's agent): it registers its
// own handlers and contributes its own part of the capabilities the server announces.
import type { InitializeParams, ServerCapabilities } from 'vscode-languageserver/node';

export interface Feature {
  /** Registers the feature's handlers; returns its part of the server's capabilities. */
  initialize(params: InitializeParams): ServerCapabilities;
  /** The client has received the capabilities; the server may start work. */
  initialized?(): void;
  /** The server is shutting down: stop what runs, within a bounded time. */
  shutdown?(): Promise<void>;
}
