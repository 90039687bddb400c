import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { dwellMs } from '../../../client/src/context/editorWatch';
import { noCompletionYet } from '../../../client/src/context/promptDocument';
import { promptScheme } from '../../../client/src/context/promptView';
import type { ContextChunk } from '../../../server/src/shared/protocol';
import { api, delay, waitForClientState, workspaceFile } from './helpers';

const secret = 'API_TOKEN=not-a-real-secret-4711';

async function show(name: string, line = 0): Promise<vscode.TextEditor> {
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(workspaceFile(name)));
  const at = new vscode.Position(Math.min(line, editor.document.lineCount - 1), 0);
  editor.selection = new vscode.Selection(at, at);
  return editor;
}

describe('context chunks', () => {
  const sent: ContextChunk[] = [];
  let subscription: vscode.Disposable | undefined;

  before(async () => {
    const llm = await api();
    await waitForClientState(llm, 'running');
    subscription = llm.onDidSendContextChunks((chunks) => sent.push(...chunks));
    await vscode.workspace.fs.writeFile(workspaceFile('.env'), new TextEncoder().encode(`${secret}\n`));
    await vscode.workspace.fs.writeFile(workspaceFile('generated/hidden.ts'), new TextEncoder().encode('export const hiddenByFilesExclude = 1;\n'));
    await vscode.workspace.getConfiguration('files').update('exclude', { '**/generated': true }, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    subscription?.dispose();
    await vscode.workspace.getConfiguration('files').update('exclude', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('sends a file the user worked in and left, with its path and edited region; never .env or what files.exclude hides', async () => {
    // Each of these is visited long enough to count, the excluded ones first, so that the chunk
    // of primes.py, sent later through the same path, shows that theirs would have arrived by then.
    for (const name of ['.env', 'generated/hidden.ts']) {
      await show(name);
      await delay(dwellMs + 300);
    }
    const primes = await show('primes.py', 3);
    await primes.edit((b) => b.insert(new vscode.Position(3, 0), '# edited for the context test\n'));
    await delay(dwellMs + 300);
    await show('fibonacci.ts');

    const deadline = Date.now() + 30_000;
    while (!sent.some((c) => c.path === 'primes.py')) {
      assert.ok(Date.now() < deadline, `no chunk of primes.py within 30 s; sent: ${JSON.stringify(sent.map((c) => c.path))}`);
      await delay(100);
    }
    const chunk = sent.find((c) => c.path === 'primes.py');
    assert.ok(chunk);
    assert.equal(chunk.uri, primes.document.uri.toString());
    assert.equal(chunk.kind, 'edit');
    assert.equal(chunk.startLine, 0);
    assert.ok(chunk.text.includes('# edited for the context test\n'), chunk.text);
    assert.ok(primes.document.getText().startsWith(chunk.text), 'the chunk is the file\'s own lines');

    const leaked = sent.filter((c) => c.path.includes('.env') || c.path.includes('generated') || c.text.includes(secret) || c.text.includes('hiddenByFilesExclude'));
    assert.deepEqual(leaked, []);

    await show('primes.py');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('Show Last Completion Prompt opens a read-only document of its own', async () => {
    await vscode.commands.executeCommand('localLlm.showLastCompletionPrompt');
    const editor = vscode.window.activeTextEditor;
    assert.ok(editor, 'an editor is open');
    const doc = editor.document;
    assert.equal(doc.uri.scheme, promptScheme);
    const text = doc.getText();
    assert.ok(text.startsWith('Local LLM: last completion prompt'), text);
    // Before the server answers this request, or before any completion, it says so; after one, it shows its parts.
    assert.ok(text.includes(noCompletionYet) || text.includes('━━━━ 1/'), text);
    // Typing into it, as the user would, changes nothing: the editor is read-only.
    await vscode.commands.executeCommand('type', { text: 'typed into the prompt' });
    await delay(200);
    assert.equal(doc.getText(), text);
    assert.equal(doc.isDirty, false);
  });
});
