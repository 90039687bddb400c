import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPart, maxParts, parseParts, parseTurns } from '../../server/src/chat/chatParts';
import { ChatHistory, contextPart } from '../../server/src/chat/history';
import { refuseExcluded, type CodebaseSource } from '../../server/src/chat/turnSources';
import { defaultSettings } from '../../server/src/shared/settings';
import { ExcludeGlobs } from '../../server/src/workspace/excludeGlobs';

describe('parseParts', () => {
  it('accepts mentions as the protocol has them', () => {
    const parts = [
      { kind: 'file', label: 'src/a.ts', text: 'a', source: { uri: 'file:///w/src/a.ts', startLine: 9, endLine: 39 } },
      { kind: 'problems', label: 'Problems', text: 'x' },
    ];
    assert.deepEqual(parseParts(parts), { parts });
    assert.deepEqual(parseParts(undefined), { parts: [] });
  });

  it('refuses malformed mentions in a sentence that names which', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['file', /must be a list/],
      [[{ kind: 'url', label: 'x', text: 'y' }], /mention 1 has kind "url"/],
      [[{ kind: 'file', label: 'x' }], /needs a label and a text/],
      [[{ kind: 'file', label: 'x', text: 'y', source: { uri: 'f', startLine: -1 } }], /whole line numbers/],
      [Array.from({ length: maxParts + 1 }, () => ({ kind: 'file', label: 'x', text: 'y' })), new RegExp(`at most ${maxParts}`)],
    ];
    for (const [raw, message] of bad) {
      const result = parseParts(raw);
      assert.ok('error' in result && message.test(result.error), JSON.stringify(result));
    }
  });
});

describe('parseTurns', () => {
  it('takes { user, assistant } strings and refuses anything else', () => {
    assert.deepEqual(parseTurns([{ user: 'q', assistant: 'a' }]), { turns: [{ user: 'q', assistant: 'a' }] });
    assert.ok('error' in parseTurns([{ user: 'q' }]));
    assert.ok('error' in parseTurns('q'));
  });
});

describe('formatPart', () => {
  it('names the part and fences its text in a fence its own backticks cannot close', () => {
    const text = formatPart({ kind: 'file', label: 'README.md', text: '```js\nx\n```', source: { uri: 'file:///w/README.md' } });
    assert.equal(text, 'File: README.md\n````md\n```js\nx\n```\n````\n\n');
    assert.match(
      formatPart({ kind: 'selection', label: 'a.py', text: 'x\ny' }, 'x', 1),
      /^Selection: a.py\n```py\nx\n… \(1 more line left out\)\n```\n\n$/,
    );
  });
});

describe('refuseExcluded', () => {
  const workspace: CodebaseSource = {
    ready: true,
    status: () => ({ files: 0 }),
    retrieve: () => Promise.resolve([]),
    relativeOf: (file) => (file.startsWith('/w/') ? { relativePath: file.slice(3) } : null),
  };
  it('drops the parts of excluded files, inside the workspace or out, and says so', () => {
    const part = (uri: string) => ({ kind: 'file' as const, label: uri.split('/').pop()!, text: 'x', source: { uri } });
    const { allowed, refused, notes } = refuseExcluded(
      [
        part('file:///w/src/a.ts'),
        part('file:///w/config/.env'),
        part('file:///home/u/id_rsa'),
        part('untitled:Untitled-1'),
        { kind: 'problems', label: 'Problems', text: 'p' },
      ],
      defaultSettings.context.exclude,
      workspace,
    );
    assert.deepEqual(
      allowed.map((p) => p.label),
      ['a.ts', 'untitled:Untitled-1', 'Problems'],
    );
    assert.deepEqual(
      refused.map((p) => p.label),
      ['.env', 'id_rsa'],
    );
    assert.deepEqual(notes, ['.env left out: it matches localLlm.context.exclude', 'id_rsa left out: it matches localLlm.context.exclude']);
  });
});

describe('ExcludeGlobs', () => {
  it('matches a path or a folder above it, dot files and any case', () => {
    const globs = new ExcludeGlobs(['**/secrets', '**/*.pem', '']);
    assert.ok(globs.excludes('a/secrets/b.txt'));
    assert.ok(globs.excludes('KEY.PEM'));
    assert.ok(!globs.excludes('src/a.ts'));
    assert.ok(!new ExcludeGlobs([]).excludes('.env'));
  });
});

describe('ChatHistory', () => {
  it('keeps turns per session, bounded, and restores a kept chat', () => {
    const history = new ChatHistory({ maxTurns: 3, maxChars: 1000, maxContextChars: 10, maxSessions: 2 });
    for (let i = 0; i < 5; i++) history.record('s', `q${i}`, `a${i}`);
    assert.deepEqual(
      history.turns('s').map((t) => t.user),
      ['q2', 'q3', 'q4'],
    );
    history.restore('s', [{ user: 'old', assistant: 'kept' }]);
    assert.deepEqual(history.turns('s'), [{ user: 'old', assistant: 'kept' }]);
    history.record('t', 'x', 'y');
    history.record('u', 'x', 'y');
    assert.deepEqual(history.turns('s'), [], 'the least recent session goes');
    history.record('big', 'q'.repeat(600), 'a');
    history.record('big', 'q'.repeat(600), 'a');
    assert.equal(history.turns('big').length, 1, 'the newest turn stays whatever its size');
  });

  it('takes the editor context as a selection, cut to its limit', () => {
    assert.deepEqual(contextPart({ fileName: 'a.ts', selection: 'x'.repeat(20) }, 10), {
      kind: 'selection',
      label: 'a.ts',
      text: 'x'.repeat(10),
    });
    assert.equal(contextPart({ fileName: 'a.ts' }, 10), null);
  });
});
