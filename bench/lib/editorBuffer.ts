// An editor buffer that a benchmark types into, mirrored to the server with full-text changes.
import { TextDocument } from 'vscode-languageserver-textdocument';
import { close, type TestServer } from './lsp';

export class EditorBuffer {
  private doc: TextDocument;
  constructor(
    private readonly server: TestServer,
    readonly uri: string,
    text: string,
    private offset: number,
  ) {
    this.doc = TextDocument.create(uri, 'typescript', 1, text);
    server.open(uri, text);
  }
  get position(): { line: number; character: number } {
    return this.doc.positionAt(this.offset);
  }
  get text(): string {
    return this.doc.getText();
  }
  type(chars: string): void {
    const text = this.doc.getText();
    const next = text.slice(0, this.offset) + chars + text.slice(this.offset);
    this.offset += chars.length;
    this.doc = TextDocument.create(this.uri, 'typescript', this.doc.version + 1, next);
    this.server.change(this.uri, this.doc.version, next);
  }
  close(): void {
    close(this.server, this.uri);
  }
}
