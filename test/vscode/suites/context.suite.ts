import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { dwellMs } from '../../../client/src/context/leaving';
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
    await vscode.workspace.fs.writeFile(
      workspaceFile('generated/hidden.ts'),
      new TextEncoder().encode('export const hiddenByFilesExclude = 1;\n'),
    );
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
    assert.ok(primes.document.getText().startsWith(chunk.text), "the chunk is the file's own lines");

    const leaked = sent.filter(
      (c) => c.path.includes('.env') || c.path.includes('generated') || c.text.includes(secret) || c.text.includes('hiddenByFilesExclude'),
    );
    assert.deepEqual(leaked, []);

    await show('primes.py');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('collects and sends nothing while localLlm.context.enabled is off', async () => {
    const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('localLlm');
    const setEnabled = async (value: boolean | undefined): Promise<void> => {
      await config().update('context.enabled', value, vscode.ConfigurationTarget.Global);
      while (config().get('context.enabled') !== (value ?? true)) await delay(50);
    };
    await setEnabled(false);
    try {
      await show('notes.md');
      await delay(dwellMs + 300);
      await show('fibonacci.ts');
    } finally {
      await setEnabled(undefined);
    }
    // A file visited after context is back on goes the same way; once it arrives, notes.md would have.
    await vscode.workspace.fs.writeFile(workspaceFile('control.ts'), new TextEncoder().encode('export const control = true;\n'));
    await show('control.ts');
    await delay(dwellMs + 300);
    await show('fibonacci.ts');
    const deadline = Date.now() + 30_000;
    while (!sent.some((c) => c.path === 'control.ts')) {
      assert.ok(Date.now() < deadline, `no chunk of control.ts within 30 s; sent: ${JSON.stringify(sent.map((c) => c.path))}`);
      await delay(100);
    }
    assert.deepEqual(
      sent.filter((c) => c.path === 'notes.md'),
      [],
    );
  });

  it("sends the definition of a name at the cursor, from the language's own definition provider", async () => {
    await vscode.workspace.fs.writeFile(
      workspaceFile('util/math.ts'),
      new TextEncoder().encode(
        '/** Adds two numbers. */\nexport function addNumbers(a: number, b: number): number {\n  return a + b;\n}\n',
      ),
    );
    await vscode.workspace.fs.writeFile(
      workspaceFile('main.ts'),
      new TextEncoder().encode("import { addNumbers } from './util/math';\n\nexport const sum = addNumbers(1, 2);\n"),
    );
    const editor = await show('main.ts', 2);
    // The TypeScript server starts with the first TypeScript file, and finds definitions in other
    // files once it has loaded the project; the feature asks only providers that answer quickly,
    // so wait here until this one can.
    const name = new vscode.Position(2, 'export const sum = addNum'.length);
    const started = Date.now();
    for (;;) {
      const found = await vscode.commands.executeCommand<Array<vscode.Location | vscode.LocationLink>>(
        'vscode.executeDefinitionProvider',
        editor.document.uri,
        name,
      );
      if (found.some((d) => ('targetUri' in d ? d.targetUri : d.uri).path.endsWith('/util/math.ts'))) break;
      assert.ok(Date.now() - started < 90_000, 'the TypeScript server found no definition within 90 s');
      await delay(500);
    }
    const warm = Date.now();
    await vscode.commands.executeCommand('vscode.executeDefinitionProvider', editor.document.uri, name);
    console.log(`The TypeScript definition provider answered after ${warm - started} ms, then in ${Date.now() - warm} ms.`);
    const deadline = Date.now() + 30_000;
    for (let i = 0; !sent.some((c) => c.kind === 'definition' && c.path === 'util/math.ts'); i++) {
      assert.ok(
        Date.now() < deadline,
        `no definition chunk within 30 s of a quick provider; sent: ${JSON.stringify(sent.map((c) => [c.kind, c.path]))}`,
      );
      // Each rest of the cursor asks again.
      const at = name.translate(0, i % 3);
      editor.selection = new vscode.Selection(at, at);
      await delay(1500);
    }
    const chunk = sent.find((c) => c.kind === 'definition' && c.path === 'util/math.ts');
    assert.ok(chunk);
    assert.equal(chunk.uri, workspaceFile('util/math.ts').toString());
    assert.equal(chunk.startLine, 0);
    assert.equal(chunk.text, '/** Adds two numbers. */\nexport function addNumbers(a: number, b: number): number {\n  return a + b;\n}\n');
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
