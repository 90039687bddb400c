// The panel's conversation with mentions: what it sends, what it shows, what it hands on to be kept.
// The backend is the session's own seam (the language client behind it is not under test here).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatSession, type ChatBackend, type ChatTurnRequest } from '../../client/src/chat/session';
import type { ToWebview } from '../../media/messages';
import type { ChatResult } from '../../server/src/shared/protocol';

function setup(result: ChatResult) {
  const sent: ChatTurnRequest[] = [];
  const posted: ToWebview[] = [];
  const ended: string[][] = [];
  const backend: ChatBackend = {
    async send(request, onChunk) {
      sent.push(request);
      onChunk(result.text);
      return result;
    },
    async prefill() {
      return { promptTokens: 0, evaluatedTokens: 0, stopped: false };
    },
    async reset() {},
  };
  let n = 0;
  const session = new ChatSession(
    backend,
    (m) => posted.push(m),
    () => `id-${++n}`,
    (s) => ended.push(s.snapshotTurns().map((t) => t.text)),
  );
  return { session, sent, posted, ended };
}

describe('chat session with mentions', () => {
  it('sends the parts and @codebase with the question, and shows what was included and left out', async () => {
    const { session, sent, ended } = setup({
      text: 'It adds.',
      stopReason: 'eos',
      included: [{ kind: 'file', label: 'src/a.ts', fit: 'trimmed' }],
      notes: ['1 older turn left out'],
    });
    const part = { kind: 'file' as const, label: 'src/a.ts', source: { uri: 'file:///w/src/a.ts' }, text: 'export const a = 1;' };
    await session.send('What does it do?', { parts: [part], codebase: true, mentionLabels: ['a.ts', 'codebase'] });
    assert.deepEqual(sent, [{ sessionId: 'id-1', message: 'What does it do?', parts: [part], codebase: true }]);
    const [question, answer] = session.snapshotTurns();
    assert.deepEqual(question.mentions, ['a.ts', 'codebase']);
    assert.deepEqual(answer.included, [{ kind: 'file', label: 'src/a.ts', fit: 'trimmed' }]);
    assert.deepEqual(answer.notes, ['1 older turn left out']);
    assert.equal(answer.about, 'file:///w/src/a.ts', 'Apply goes to the mentioned file when a block names none');
    assert.deepEqual(ended, [['What does it do?', 'It adds.']]);
  });

  it("a draft's request is the one its send makes; none while empty or while an answer is written", async () => {
    const { session, sent } = setup({ text: 'It adds.', stopReason: 'eos' });
    const part = { kind: 'file' as const, label: 'src/a.ts', source: { uri: 'file:///w/src/a.ts' }, text: 'export const a = 1;' };
    const options = { parts: [part], codebase: true };
    const drafted = session.requestFor(' What does it do? ', options);
    await session.send(' What does it do? ', options);
    assert.deepEqual(drafted, sent[0]);
    assert.equal(session.requestFor('  '), null);
    const answering = session.send('Next');
    assert.equal(session.requestFor('And then?'), null);
    await answering;
  });

  it('sends a message that is only mentions, but not an empty one', async () => {
    const { session, sent } = setup({ text: 'ok', stopReason: 'eos' });
    await session.send('', { codebase: true });
    assert.equal(sent.length, 1);
    await assert.rejects(session.send('  '), /empty/);
  });

  it('reopens a kept chat under its id, a turn that was streaming then counting as stopped', async () => {
    const { session, sent } = setup({ text: 'again', stopReason: 'eos' });
    session.open('kept-1', [
      { id: 'a', role: 'user', text: 'q', state: 'done' },
      { id: 'b', role: 'assistant', text: 'half', state: 'streaming' },
    ]);
    assert.equal(session.id, 'kept-1');
    assert.deepEqual(
      session.snapshotTurns().map((t) => t.state),
      ['done', 'stopped'],
    );
    await session.send('next');
    assert.equal(sent[0].sessionId, 'kept-1');
    assert.equal(session.snapshotTurns().length, 4);
  });
});
