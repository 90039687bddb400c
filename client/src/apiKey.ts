// The model server's API key, kept in VS Code's secret storage (the OS keychain where there is
// one), never in settings, never logged. The language server gets it at start and on each change.
import type * as vscode from 'vscode';

const secretKey = 'localLlm.serverApiKey';

export class ServerApiKey implements vscode.Disposable {
  private value: string | null = null;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    /** The key changed (here or in another window): tell the running server. */
    onChange: (key: string | null) => void,
  ) {
    this.subscription = secrets.onDidChange(async (e) => {
      if (e.key !== secretKey) return;
      await this.load();
      onChange(this.value);
    });
  }

  /** The key as last read; null when none is set. */
  get current(): string | null {
    return this.value;
  }

  async load(): Promise<string | null> {
    this.value = (await this.secrets.get(secretKey)) ?? null;
    return this.value;
  }

  /** Stores the key; an empty one removes it. */
  async set(key: string): Promise<void> {
    const trimmed = key.trim();
    if (trimmed) await this.secrets.store(secretKey, trimmed);
    else await this.secrets.delete(secretKey);
    this.value = trimmed || null;
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
