// Kept chats on a real disk (a temporary folder): private files, listing after a fresh store, delete.
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ChatStore, chatTitle, serverTurns, type KeptChat } from '../../client/src/chat/chatStore';
import type { ChatTurn } from '../../media/messages';

const root = mkdtempSync(path.join(os.tmpdir(), 'chat-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

function chat(id: string, question: string, updatedAt: number): KeptChat {
  const turns: ChatTurn[] = [
    { id: `${id}-q`, role: 'user', text: question, state: 'done' },
    { id: `${id}-a`, role: 'assistant', text: `answer to ${question}`, state: 'done' },
  ];
  return { version: 1, id, title: chatTitle(question), createdAt: updatedAt - 10, updatedAt, turns };
}

describe('chat store', () => {
  it('keeps a chat privately and lists it again from a fresh store, latest first', async () => {
    const folder = path.join(root, 'a', 'chats');
    const store = new ChatStore(folder);
    await store.save(chat('one', 'What does fib do?', 1000));
    await store.save(chat('two', 'Why is it slow?', 2000));
    if (process.platform !== 'win32') {
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      assert.equal(statSync(path.join(folder, 'one.json')).mode & 0o777, 0o600);
    }
    const reloaded = new ChatStore(folder);
    assert.deepEqual(await reloaded.list(), [
      { id: 'two', title: 'Why is it slow?', updatedAt: 2000, questions: 1 },
      { id: 'one', title: 'What does fib do?', updatedAt: 1000, questions: 1 },
    ]);
    assert.deepEqual(await reloaded.load('one'), chat('one', 'What does fib do?', 1000));
    assert.deepEqual(await fs.readdir(folder).then((n) => n.sort()), ['one.json', 'two.json'], 'no temporary file is left');
  });

  it('deletes one chat, then all', async () => {
    const store = new ChatStore(path.join(root, 'b'));
    await store.save(chat('one', 'q1', 1));
    await store.save(chat('two', 'q2', 2));
    await store.save(chat('three', 'q3', 3));
    await store.delete('two');
    assert.deepEqual(
      (await store.list()).map((c) => c.id),
      ['three', 'one'],
    );
    await store.deleteAll();
    assert.deepEqual(await store.list(), []);
  });

  it('passes over files that are not kept chats, and lists nothing from a folder not made yet', async () => {
    const folder = path.join(root, 'c');
    const store = new ChatStore(folder);
    assert.deepEqual(await store.list(), []);
    await store.save(chat('good', 'q', 5));
    await fs.writeFile(path.join(folder, 'broken.json'), '{"version": 1, "id": "bro');
    await fs.writeFile(path.join(folder, 'other.json'), JSON.stringify({ version: 2, id: 'other' }));
    assert.deepEqual(
      (await store.list()).map((c) => c.id),
      ['good'],
    );
    assert.equal(await store.load('broken'), null);
    assert.equal(await store.load('missing'), null);
  });

  it('refuses an id that could name a file outside its folder', async () => {
    const store = new ChatStore(path.join(root, 'd'));
    await assert.rejects(store.load('../secret'), /not a kept chat's id/);
    await assert.rejects(store.delete('a/b'), /not a kept chat's id/);
  });
});

describe('kept chat helpers', () => {
  it('titles a chat by its first question, on one line and shortened', () => {
    assert.equal(chatTitle('  What does\n this do? '), 'What does this do?');
    assert.equal(chatTitle('x'.repeat(200)).length, 80);
    assert.equal(chatTitle(''), 'Untitled chat');
  });

  it('gives the server each question with its answer, leaving out failed and empty answers', () => {
    const turns: ChatTurn[] = [
      { id: '1', role: 'user', text: 'q1', state: 'done' },
      { id: '2', role: 'assistant', text: 'a1', state: 'done' },
      { id: '3', role: 'user', text: 'q2', state: 'done' },
      { id: '4', role: 'assistant', text: 'half', state: 'error', error: 'boom' },
      { id: '5', role: 'user', text: 'q3', state: 'done' },
      { id: '6', role: 'assistant', text: 'a3 so far', state: 'stopped' },
      { id: '7', role: 'user', text: 'q4', state: 'done' },
      { id: '8', role: 'assistant', text: '', state: 'stopped' },
    ];
    assert.deepEqual(serverTurns(turns), [
      { user: 'q1', assistant: 'a1' },
      { user: 'q3', assistant: 'a3 so far' },
    ]);
  });
});
