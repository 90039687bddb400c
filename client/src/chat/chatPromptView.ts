// "Local LLM: Show Last Chat Prompt": asks the server for the last chat turn's prompt and shows it
// in a read-only document of our own scheme, as the completion prompt view does.
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError, type LanguageClient } from 'vscode-languageclient/node';
import { LastChatPromptRequest, type LastChatPrompt } from '../../../server/src/shared/protocol';
import { renderChatPromptDocument } from './chatPromptDocument';

export const chatPromptScheme = 'local-llm-chat-prompt';

export class ChatPromptView implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly uri = vscode.Uri.from({ scheme: chatPromptScheme, path: '/Last Chat Prompt.txt' });
  private text = renderChatPromptDocument(null);
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(chatPromptScheme, this);

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(client: LanguageClient): Promise<vscode.TextEditor> {
    let prompt: LastChatPrompt | null = null;
    let note: string | undefined;
    try {
      prompt = await client.sendRequest(LastChatPromptRequest.type);
    } catch (err) {
      // A server (or another editor's) without the request has simply nothing to show.
      if (!(err instanceof ResponseError && err.code === ErrorCodes.MethodNotFound)) throw err;
      note = 'This server does not report its chat prompts.';
    }
    this.text = renderChatPromptDocument(prompt, note);
    this.changed.fire(this.uri);
    const document = await vscode.workspace.openTextDocument(this.uri);
    return vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
