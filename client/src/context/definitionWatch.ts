// Definitions of the names around the cursor, as the language's own definition provider finds
// them. Asked only once the cursor has rested, for a few names not asked about lately, and only
// answers that come quickly count: a slow language server costs this feature, never the user.
import * as vscode from 'vscode';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { chunkLines, chunkOf, spanFrom, type LineSource } from './chunks';
import { namesNear } from './identifiers';
import type { ContextPrivacy } from './privacy';

/** The cursor rests this long before names are looked up. */
export const restMs = 1000;
/** One lookup may take this long; a later answer is ignored. */
export const lookupTimeoutMs = 400;
/** All lookups of one rest together. */
const roundBudgetMs = 1200;
/** A name in a document whose definition was sent is looked up again only after this. */
const repeatAfterMs = 60_000;
/**
 * One whose lookup gave nothing to send, sooner: a language server that is still loading its
 * project may answer with the import line at first (TypeScript's syntax-only server does).
 */
const retryAfterMs = 10_000;
/** Files read from disk for a definition are at most this large. */
const maxFileBytes = 1024 * 1024;

type Definition = vscode.Location | vscode.LocationLink;

function target(d: Definition): { uri: vscode.Uri; first: number; last: number } {
  if ('targetUri' in d) return { uri: d.targetUri, first: d.targetRange.start.line, last: d.targetRange.end.line };
  return { uri: d.uri, first: d.range.start.line, last: d.range.end.line };
}

const timedOut = Symbol('timed out');

/** The answer, undefined when the provider failed, or `timedOut`. */
async function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T | undefined | typeof timedOut> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof timedOut>((resolve) => (timer = setTimeout(() => resolve(timedOut), ms)));
  try {
    return await Promise.race([Promise.resolve(promise).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The file's lines: from its open document, else read from disk (without opening a document). */
async function linesOf(uri: vscode.Uri): Promise<LineSource | null> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return { lineCount: open.lineCount, lineAt: (i) => open.lineAt(i).text };
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.size > maxFileBytes) return null;
    const lines = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)).split(/\r?\n/);
    return { lineCount: lines.length, lineAt: (i) => lines[i] };
  } catch {
    return null;
  }
}

export function watchDefinitions(privacy: ContextPrivacy, enabled: () => boolean, offer: (chunk: ContextChunk) => void): vscode.Disposable {
  /** `uri|name` to when it may be looked up again. */
  const asked = new Map<string, number>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let disposed = false;

  const lookUp = async (): Promise<void> => {
    timer = null;
    const editor = vscode.window.activeTextEditor;
    if (running || disposed || !editor || !enabled() || !privacy.allows(editor.document.uri)) return;
    running = true;
    try {
      const document = editor.document;
      const cursor = editor.selection.active;
      const now = Date.now();
      for (const [key, until] of asked) if (now >= until) asked.delete(key);
      const names = namesNear((i) => document.lineAt(i).text, cursor.line, cursor.character).filter(
        (n) => !asked.has(`${document.uri}|${n.name}`),
      );
      const deadline = now + roundBudgetMs;
      for (const name of names) {
        if (disposed || Date.now() > deadline || !enabled()) break;
        const position = new vscode.Position(name.line, name.character);
        const found = await withTimeout(
          vscode.commands.executeCommand<Definition[] | undefined>('vscode.executeDefinitionProvider', document.uri, position),
          lookupTimeoutMs,
        );
        // Too slow (a language server still starting, or busy): leave the rest of the names, and
        // this one, for the next rest; at most one slow lookup runs on per rest.
        if (found === timedOut) break;
        const key = `${document.uri}|${name.name}`;
        asked.set(key, Date.now() + retryAfterMs);
        const first = found?.[0];
        if (!first) continue;
        const t = target(first);
        // Already in the completion's own window, or a file that may not give context.
        if (t.uri.toString() === document.uri.toString() && Math.abs(t.first - cursor.line) < chunkLines) continue;
        if (!privacy.allows(t.uri)) continue;
        const source = await linesOf(t.uri);
        if (!source || disposed || !enabled()) continue;
        const chunk = chunkOf(
          'definition',
          { path: privacy.chunkPath(t.uri), uri: t.uri.toString() },
          source,
          spanFrom(t.first, t.last, source.lineCount),
        );
        if (!chunk) continue;
        asked.set(key, Date.now() + repeatAfterMs);
        offer(chunk);
      }
    } finally {
      running = false;
    }
  };

  const rest = (document: vscode.TextDocument): void => {
    if (document !== vscode.window.activeTextEditor?.document || !enabled()) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void lookUp(), restMs);
  };

  const subscriptions = [
    vscode.window.onDidChangeTextEditorSelection((e) => rest(e.textEditor.document)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) rest(e.document);
    }),
  ];
  return new vscode.Disposable(() => {
    disposed = true;
    if (timer !== null) clearTimeout(timer);
    for (const s of subscriptions) s.dispose();
  });
}
