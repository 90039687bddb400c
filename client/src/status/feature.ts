// The status's LSP side: the last ModelStatus the server pushed (`localLlm/didChangeState`, the one
// source while it runs) or answered (`localLlm/status`, asked once when the client reaches Running;
// Sleep and Wake answer with one too), and when it arrived, so the idle countdown runs between pushes.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DidChangeStateNotification, StatusRequest, type ModelStatus } from '../../../server/src/shared/protocol';

export class ModelStatusTracker implements vscode.Disposable {
  private current: ModelStatus | null = null;
  private at = 0;
  private readonly emitter = new vscode.EventEmitter<ModelStatus>();
  readonly onDidChange = this.emitter.event;

  get status(): ModelStatus | null {
    return this.current;
  }

  get receivedAt(): number {
    return this.at;
  }

  /** Listens for pushes; the handler survives client restarts. */
  listen(client: LanguageClient): vscode.Disposable {
    return client.onNotification(DidChangeStateNotification.type, (status) => this.update(status));
  }

  async refresh(client: LanguageClient): Promise<ModelStatus> {
    const status = await client.sendRequest(StatusRequest.type, undefined);
    this.update(status);
    return status;
  }

  update(status: ModelStatus): void {
    this.current = status;
    this.at = Date.now();
    this.emitter.fire(status);
  }

  /** The server is gone: what it said no longer holds. */
  forget(): void {
    this.current = null;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
