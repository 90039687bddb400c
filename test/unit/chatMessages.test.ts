// The checks the extension runs on the new messages from the chat panel before acting on them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFromWebview } from '../../media/messages';

describe('chat panel messages', () => {
  it('accepts a message with mention chips, a mention query, Apply and the History actions', () => {
    for (const m of [
      { type: 'send', text: 'hi' },
      { type: 'send', text: '', mentions: [{ kind: 'file', label: 'a.ts#L1-2', uri: 'file:///w/a.ts', startLine: 0, endLine: 1 }] },
      { type: 'send', text: 'x', mentions: [{ kind: 'codebase', label: 'codebase' }] },
      { type: 'mentionQuery', id: 3, kind: 'symbol', query: 'pars' },
      { type: 'apply', turnId: 't1', text: 'code', info: 'ts src/a.ts' },
      { type: 'listChats' },
      { type: 'openChat', id: 'c1' },
      { type: 'deleteChat', id: 'c1' },
      { type: 'deleteAllChats' },
    ])
      assert.ok(isFromWebview(m), JSON.stringify(m));
  });

  it('refuses malformed mentions, queries and actions', () => {
    for (const m of [
      { type: 'send', text: 'x', mentions: [{ kind: 'everything', label: 'x' }] },
      { type: 'send', text: 'x', mentions: [{ kind: 'file', label: 'a', startLine: -1 }] },
      { type: 'send', text: 'x', mentions: [{ kind: 'file', label: 'a', uri: 7 }] },
      { type: 'send', text: 'x', mentions: 'a.ts' },
      { type: 'mentionQuery', id: 1, kind: 'codebase', query: '' },
      { type: 'mentionQuery', id: '1', kind: 'file', query: '' },
      { type: 'apply', turnId: 't1', text: 'code' },
      { type: 'openChat' },
      { type: 'deleteChat', id: 5 },
    ])
      assert.ok(!isFromWebview(m), JSON.stringify(m));
  });
});
