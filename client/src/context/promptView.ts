// "Local LLM: Show Last Completion Prompt": asks the server for the last completion's prompt and
// shows it in a read-only document of our own scheme (promptDocument.ts renders it).
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError, type LanguageClient } from 'vscode-languageclient/node';
import { LastCompletionPromptRequest, type LastCompletionPrompt } from '../../../server/src/shared/protocol';
import { renderPromptDocument } from './promptDocument';

export const promptScheme = 'local-llm-prompt';

export class PromptView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly uri = vscode.Uri.from({ scheme: promptScheme, path: '/Last Completion Prompt.txt' });
  private text = renderPromptDocument(null);
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(promptScheme, this);

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(client: LanguageClient): Promise<vscode.TextEditor> {
    let prompt: LastCompletionPrompt | null = null;
    let note: string | undefined;
    try {
      prompt = await client.sendRequest(LastCompletionPromptRequest.type);
    } catch (err) {
      // A server (or another editor's) without the request has simply nothing to show.
      if (!(err instanceof ResponseError && err.code === ErrorCodes.MethodNotFound)) throw err;
      note = 'This server does not report its prompts.';
    }
    this.text = renderPromptDocument(prompt, note);
    this.changed.fire(this.uri);
    const document = await vscode.workspace.openTextDocument(this.uri);
    return vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
