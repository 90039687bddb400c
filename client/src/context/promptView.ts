// "Local LLM: Show Last Completion Prompt" and "Show Last Chat Prompt": ask the server for the
// last prompt of one kind and show it in a read-only document of our own scheme, rendered by that
// kind's document module (promptDocument.ts, chat/chatPromptDocument.ts).
import * as vscode from 'vscode';
import { ErrorCodes, ResponseError, type LanguageClient, type RequestType0 } from 'vscode-languageclient/node';
import { LastCompletionPromptRequest, type LastCompletionPrompt } from '../../../server/src/shared/protocol';
import { renderPromptDocument } from './promptDocument';

/** One kind of last prompt: where it comes from and how it reads. */
export interface PromptSource<P> {
  scheme: string;
  /** The document's name, "Last Completion Prompt.txt". */
  title: string;
  request: RequestType0<P | null, void>;
  render(prompt: P | null, note?: string): string;
  /** Said when the server has no such request (another editor's server, an older one). */
  unsupported: string;
}

export const promptScheme = 'local-llm-prompt';

export const completionPromptSource: PromptSource<LastCompletionPrompt> = {
  scheme: promptScheme,
  title: 'Last Completion Prompt.txt',
  request: LastCompletionPromptRequest.type,
  render: renderPromptDocument,
  unsupported: 'This server does not report its prompts.',
};

export class PromptView<P> implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly uri: vscode.Uri;
  private text: string;
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration: vscode.Disposable;

  constructor(private readonly source: PromptSource<P>) {
    this.uri = vscode.Uri.from({ scheme: source.scheme, path: `/${source.title}` });
    this.text = source.render(null);
    this.registration = vscode.workspace.registerTextDocumentContentProvider(source.scheme, this);
  }

  provideTextDocumentContent(): string {
    return this.text;
  }

  async show(client: LanguageClient): Promise<vscode.TextEditor> {
    let prompt: P | null = null;
    let note: string | undefined;
    try {
      prompt = await client.sendRequest(this.source.request);
    } catch (err) {
      // A server (or another editor's) without the request has simply nothing to show.
      if (!(err instanceof ResponseError && err.code === ErrorCodes.MethodNotFound)) throw err;
      note = this.source.unsupported;
    }
    this.text = this.source.render(prompt, note);
    this.changed.fire(this.uri);
    const document = await vscode.workspace.openTextDocument(this.uri);
    return vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    this.registration.dispose();
    this.changed.dispose();
  }
}
