// Chat on the code (#21), client side, in the real workbench: Apply as a reviewable diff (Accept
// is one undo, Reject changes nothing), Merge with the model for a block that matches no region, Edit Selection through the generated model (its text is
// noise, so the flow is asserted, not the text), mentions refused for excluded files, kept chats
// listed again from a fresh store, and the Edit Selection keybinding free of built-ins.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { LocalLlmApi, ProposalReport } from '../../../client/src/api';
import { proposalScheme } from '../../../client/src/edits/proposals';
import { api, waitForState, workspaceFile } from './helpers';

const shapes = `// Shapes for the Apply tests.

export function area(w: number, h: number): number {
  return w * h;
}

export function perimeter(w: number, h: number): number {
  return 2 * (w + h);
}

export function diagonal(w: number, h: number): number {
  return Math.sqrt(w * w + h * h);
}
`;

const newPerimeter = `export function perimeter(w: number, h: number): number {
  const sum = w + h;
  return sum + sum;
}`;

/** What the file must read after Accept: only perimeter's lines differ. */
const accepted = shapes.replace('export function perimeter(w: number, h: number): number {\n  return 2 * (w + h);\n}', newPerimeter);

function diffTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === proposalScheme);
}

async function freshShapes(): Promise<vscode.TextDocument> {
  const uri = workspaceFile('shapes.ts');
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open?.isDirty) {
    await vscode.window.showTextDocument(open);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(shapes));
  const document = await vscode.workspace.openTextDocument(uri);
  // The live document follows the disk; wait until it has the text just written.
  for (let i = 0; i < 100 && document.getText() !== shapes; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(document.getText(), shapes);
  return document;
}

describe('chat on the code', () => {
  let llm: LocalLlmApi;

  before(async () => {
    llm = await api();
    await waitForState(llm, 'ready');
    await vscode.workspace.fs.writeFile(workspaceFile('.env'), new TextEncoder().encode('API_TOKEN=not-a-real-secret\n'));
  });

  after(async () => {
    if (llm.getProposal()) await llm.rejectEdit();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Apply on a fragment shows a diff; Accept changes exactly that region, and one Undo restores the file', async () => {
    const document = await freshShapes();
    const shown = new Promise<ProposalReport | null>((resolve) => {
      const sub = llm.onDidChangeProposal((p) => {
        sub.dispose();
        resolve(p);
      });
    });
    const report = await llm.applyCode(newPerimeter, { info: 'ts shapes.ts' });
    assert.ok(report, 'a proposal was made');
    assert.deepEqual(await shown, report);
    assert.equal(report.target, document.uri.toString());
    assert.deepEqual([report.startLine, report.endLine, report.wholeFile], [6, 8, false]);
    // The diff is open, its right side is the proposed file, and the file itself is untouched.
    assert.equal(diffTabs().length, 1);
    const proposal = await vscode.workspace.openTextDocument(vscode.Uri.parse(report.proposal));
    assert.equal(proposal.getText(), accepted);
    assert.equal(document.getText(), shapes);
    assert.equal(document.isDirty, false);

    await vscode.commands.executeCommand('localLlm.acceptEdit');
    assert.equal(document.getText(), accepted);
    assert.equal(llm.getProposal(), null);
    assert.equal(diffTabs().length, 0, 'the diff closed');

    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('undo');
    assert.equal(document.getText(), shapes, 'one Undo took the whole change back');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('Reject leaves the file as it was', async () => {
    const document = await freshShapes();
    const report = await llm.applyCode(`// shapes.ts\n${newPerimeter}`, { info: 'ts' });
    assert.ok(report);
    await vscode.commands.executeCommand('localLlm.rejectEdit');
    assert.equal(llm.getProposal(), null);
    assert.equal(diffTabs().length, 0);
    assert.equal(document.getText(), shapes);
    assert.equal(document.isDirty, false);
  });

  it('says why a block that matches no region is not applied, and can show it as a whole-file diff', async () => {
    const document = await freshShapes();
    const unmatched = 'export function volume(w: number, h: number, d: number): number {\n  return w * h * d;\n}';
    await assert.rejects(llm.applyCode(unmatched, { about: document.uri }), /matches no region of shapes\.ts/);
    const whole = await llm.applyCode(unmatched, { about: document.uri, wholeFileIfUnmatched: true });
    assert.equal(whole?.wholeFile, true);
    await llm.rejectEdit();
    assert.equal(document.getText(), shapes);
  });

  it('Merge with the model: a block that matches no region goes through one model turn and comes back as a whole-file diff; Reject leaves the file', async () => {
    const document = await freshShapes();
    const turnsBefore = llm.getChatTurns();
    const unmatched = 'export function volume(w: number, h: number, d: number): number {\n  return w * h * d;\n}';
    const shown = new Promise<ProposalReport | null>((resolve) => {
      const sub = llm.onDidChangeProposal((p) => {
        sub.dispose();
        resolve(p);
      });
    });
    // The model's text is noise with random weights: the flow is asserted, not the merge.
    const report = await llm.applyCode(unmatched, { about: document.uri, mergeIfUnmatched: true });
    assert.ok(report, 'the merged file became a proposal');
    assert.deepEqual(await shown, report);
    assert.equal(report.target, document.uri.toString());
    assert.equal(report.wholeFile, true);
    assert.deepEqual([report.startLine, report.endLine], [0, document.lineCount - 1]);
    assert.ok(report.replacement.trim() !== '', 'the model wrote something to review');
    assert.equal(diffTabs().length, 1);
    const proposal = await vscode.workspace.openTextDocument(vscode.Uri.parse(report.proposal));
    assert.equal(proposal.getText(), report.replacement, 'the right side is the whole merged file');
    assert.equal(document.getText(), shapes, 'nothing is written before Accept');
    assert.equal(document.isDirty, false);
    assert.deepEqual(llm.getChatTurns(), turnsBefore, 'the merge ran in a session of its own, not in the panel’s chat');
    await vscode.commands.executeCommand('localLlm.rejectEdit');
    assert.equal(llm.getProposal(), null);
    assert.equal(diffTabs().length, 0);
    assert.equal(document.getText(), shapes);
    assert.equal(document.isDirty, false);
  });

  it('Edit Selection runs one turn through the model and shows its code as a diff; Reject leaves the file', async () => {
    const document = await freshShapes();
    const editor = await vscode.window.showTextDocument(document);
    editor.selection = new vscode.Selection(2, 0, 5, 0);
    const report = await llm.editSelection('Use a local variable.');
    assert.ok(report, 'the answer became a proposal');
    assert.equal(report.target, document.uri.toString());
    assert.deepEqual([report.startLine, report.endLine], [2, 5]);
    assert.equal(diffTabs().length, 1);
    assert.equal(document.getText(), shapes, 'nothing is written before Accept');
    await vscode.commands.executeCommand('localLlm.rejectEdit');
    assert.equal(document.getText(), shapes);
    assert.equal(document.isDirty, false);
  });

  it('refuses a mention of an excluded file with a sentence, and sends nothing', async () => {
    await llm.newChat();
    await assert.rejects(llm.chat('@file:.env what is in it?'), /\.env is excluded by localLlm\.context\.exclude or files\.exclude/);
    assert.deepEqual(llm.getChatTurns(), []);
  });

  it('sends a mentioned file with the question and shows it on the turn', async () => {
    await llm.newChat();
    let stopped = false;
    const outcome = await llm.chat('@file:primes.py#L1-3 what does this do?', {
      onChunk: () => {
        if (stopped) return;
        stopped = true;
        llm.stopChat();
      },
    });
    assert.ok(['abort', 'eos', 'maxTokens', 'maxLines', 'suffix'].includes(outcome.result.stopReason));
    const [question] = llm.getChatTurns();
    assert.equal(question.text, 'what does this do?');
    assert.deepEqual(question.mentions, ['primes.py#L1-3']);
  });

  it('keeps a chat and lists it again after the chat store is made anew; it reopens and deletes', async () => {
    await llm.newChat();
    const id = llm.getChatId();
    await llm.chat('A question worth keeping');
    const kept = await llm.keptChats();
    assert.ok(
      kept.some((c) => c.id === id && c.title === 'A question worth keeping'),
      JSON.stringify(kept),
    );
    llm.reloadChatStore();
    const again = await llm.keptChats();
    const entry = again.find((c) => c.id === id);
    assert.ok(entry, 'listed from a fresh store');
    assert.equal(entry.questions, 1);

    await llm.newChat();
    assert.deepEqual(llm.getChatTurns(), []);
    await llm.openKeptChat(id);
    assert.equal(llm.getChatId(), id);
    assert.equal(llm.getChatTurns()[0]?.text, 'A question worth keeping');
    await llm.deleteKeptChat(id);
    assert.ok(!(await llm.keptChats()).some((c) => c.id === id));
  });

  it('binds Edit Selection to a key no built-in command uses', async () => {
    await vscode.commands.executeCommand('workbench.action.openDefaultKeybindingsFile');
    const text = vscode.window.activeTextEditor?.document.getText() ?? '';
    assert.ok(text.includes('"key"'), 'the default keybindings are open');
    const commands = [...text.matchAll(/"key":\s*"ctrl\+alt\+e",\s*"command":\s*"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(commands, ['localLlm.editSelection']);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
