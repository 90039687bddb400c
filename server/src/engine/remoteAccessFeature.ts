// What the language server holds for a model server engine: the API key the client keeps in its
// secret storage (never logged, never in status), the user's yes to plain http per host
// (remembered in the extension's storage), and failures said once as a notification.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Connection, InitializeParams, ServerCapabilities } from 'vscode-languageserver/node';
import type { Feature } from '../feature';
import { SetApiKeyNotification, type InitializationOptions, type SetApiKeyParams } from '../shared/protocol';
import type { RemoteEngineHooks } from './create';

const confirmAction = 'Send over http';

export class RemoteAccessFeature implements Feature, RemoteEngineHooks {
  private key: string | null = null;
  private storageDir = path.join(os.homedir(), '.cache', 'local-llm');

  constructor(
    private readonly options: {
      connection: Connection;
      log(line: string): void;
      /** The key changed: the next request uses it; a server that refused the old one is asked again. */
      onKeyChange(): void;
    },
  ) {}

  initialize(params: InitializeParams): ServerCapabilities {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    if (typeof init.storageDir === 'string') this.storageDir = init.storageDir;
    this.key = cleanKey(init.apiKey);
    this.options.connection.onNotification(SetApiKeyNotification.type, (p: SetApiKeyParams | undefined) => {
      this.key = cleanKey(p?.apiKey);
      this.options.log(this.key ? 'The model server API key was set.' : 'The model server API key was removed.');
      this.options.onKeyChange();
    });
    return {};
  }

  apiKey(): string | null {
    return this.key;
  }

  notify(sentence: string): void {
    void this.options.connection.window.showWarningMessage(`Local LLM: ${sentence}`);
  }

  async confirmPlainHttp(host: string): Promise<boolean> {
    const file = path.join(this.storageDir, 'plain-http-hosts.json');
    const trusted = await readFile(file, 'utf8')
      .then((text) => JSON.parse(text) as unknown)
      .then((list) => (Array.isArray(list) ? list.filter((h): h is string => typeof h === 'string') : []))
      .catch(() => [] as string[]);
    if (trusted.includes(host)) return true;
    const answer = await this.options.connection.window.showWarningMessage(
      `Local LLM: the model server ${host} is plain http, not https: your code and the completions travel unencrypted, and anyone on the network path can read or change them. Send them to ${host}?`,
      { title: confirmAction },
      { title: 'Not now' },
    );
    if (answer?.title !== confirmAction) return false;
    await mkdir(this.storageDir, { recursive: true });
    await writeFile(file, JSON.stringify([...trusted, host]), { mode: 0o600 });
    return true;
  }
}

function cleanKey(key: unknown): string | null {
  return typeof key === 'string' && key.trim() ? key.trim() : null;
}
