// What the inline-completion middleware handed VS Code, as events for the API's
// `onDidProvideInlineCompletions` (the in-VS-Code tests watch ghost text through it). It wraps
// the product's middleware and only observes: what is returned passes through untouched.
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import type { InlineCompletionReport } from './api';

type ProvideInlineCompletions = NonNullable<Middleware['provideInlineCompletionItems']>;

export class CompletionReports implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<InlineCompletionReport>();
  readonly onDidProvide = this.emitter.event;

  /** Reports each answer of `inner`; one that never called `next` was skipped (nothing was sent). */
  wrap(inner: ProvideInlineCompletions): ProvideInlineCompletions {
    return async (document, position, context, token, next) => {
      let sent = false;
      const result = await inner(document, position, context, token, (...args) => {
        sent = true;
        return next(...args);
      });
      const items = !result ? [] : Array.isArray(result) ? result : result.items;
      const texts = items.map((i) => (typeof i.insertText === 'string' ? i.insertText : i.insertText.value));
      this.emitter.fire({
        uri: document.uri.toString(),
        items: items.length,
        texts,
        cancelled: sent && token.isCancellationRequested,
        skipped: !sent,
        explicit: context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke,
      });
      return result;
    };
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
