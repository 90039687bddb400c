import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzyFilter, fuzzyScore } from '../../media/fuzzy';
import { formatLineRange, mentionAtCaret, parseMentions, splitLineRange, splitQuery } from '../../media/mentions';

describe('mention at the caret', () => {
  it('finds the @word being typed, at the start or after a space', () => {
    assert.deepEqual(mentionAtCaret('@fi', 3), { start: 0, end: 3, query: 'fi' });
    assert.deepEqual(mentionAtCaret('explain @file:src/ma please', 17), { start: 8, end: 20, query: 'file:src' });
    assert.deepEqual(mentionAtCaret('what is @', 9), { start: 8, end: 9, query: '' });
  });

  it('does not open on an e-mail address, after a space was typed, or before the caret reaches it', () => {
    assert.equal(mentionAtCaret('mail a@b.com', 12), null);
    assert.equal(mentionAtCaret('@file ', 6), null);
    assert.equal(mentionAtCaret('hello @file', 3), null);
  });

  it('splits a query at its first colon', () => {
    assert.deepEqual(splitQuery('file:src/a.ts#L1-2'), { word: 'file', target: 'src/a.ts#L1-2' });
    assert.deepEqual(splitQuery('sym'), { word: 'sym', target: null });
  });
});

describe('mentions written in a message', () => {
  it('takes out the known mentions, in order, and keeps the rest of the question', () => {
    const { mentions, rest } = parseMentions('@codebase where is @file:src/a.ts#L10-40 parsed? see @problems');
    assert.deepEqual(mentions, [
      { kind: 'codebase', target: null, text: '@codebase' },
      { kind: 'file', target: 'src/a.ts#L10-40', text: '@file:src/a.ts#L10-40' },
      { kind: 'problems', target: null, text: '@problems' },
    ]);
    assert.equal(rest, 'where is parsed? see');
  });

  it('keeps the spacing of the rest of the message, code included', () => {
    const code = 'fix this:\n    if (a  ==  b) {\n        go();\n    }';
    assert.equal(parseMentions(code).rest, code);
    assert.equal(parseMentions(`@selection ${code}`).rest, code);
  });

  it('leaves decorators, handles and e-mail addresses alone', () => {
    const text = 'why does @Component fail for me@example.com and @octocat?';
    assert.deepEqual(parseMentions(text), { mentions: [], rest: text });
  });
});

describe('line ranges', () => {
  it('reads #L10-40, #L7 and #L10-L40, and puts a reversed range in order', () => {
    assert.deepEqual(splitLineRange('src/a.ts#L10-40'), { path: 'src/a.ts', range: { start: 10, end: 40 }, problem: null });
    assert.deepEqual(splitLineRange('a.ts#L7'), { path: 'a.ts', range: { start: 7, end: 7 }, problem: null });
    assert.deepEqual(splitLineRange('a.ts#L10-L40').range, { start: 10, end: 40 });
    assert.deepEqual(splitLineRange('a.ts#L40-10').range, { start: 10, end: 40 });
    assert.deepEqual(splitLineRange('a.ts'), { path: 'a.ts', range: null, problem: null });
  });

  it('says in a sentence what is wrong with a range it cannot read', () => {
    assert.match(splitLineRange('a.ts#foo').problem ?? '', /not a line range/);
    assert.match(splitLineRange('a.ts#L0-3').problem ?? '', /count from 1/);
  });

  it('writes a range back as it is typed', () => {
    assert.equal(formatLineRange({ start: 10, end: 40 }), '#L10-40');
    assert.equal(formatLineRange({ start: 7, end: 7 }), '#L7');
    assert.equal(formatLineRange(null), '');
  });
});

describe('fuzzy matching', () => {
  it('matches characters in order, case-insensitively, and nothing else', () => {
    assert.notEqual(fuzzyScore('fib', 'src/fibonacci.ts'), null);
    assert.notEqual(fuzzyScore('FBT', 'src/fibonacci.ts'), null);
    assert.equal(fuzzyScore('bif', 'src/fibonacci.ts'), null);
    assert.equal(fuzzyScore('', 'anything'), 0);
  });

  it("ranks the file's own name, word starts and runs first", () => {
    const files = ['docs/fibonacci-notes/readme.md', 'src/lib/fib.ts', 'src/fibonacci.ts', 'test/frobnicate.ts'];
    assert.deepEqual(
      fuzzyFilter('fib', files, (f) => f),
      ['src/lib/fib.ts', 'src/fibonacci.ts', 'docs/fibonacci-notes/readme.md'],
    );
    assert.deepEqual(fuzzyFilter('gS', ['getStatus', 'gitSync', 'strings'], (s) => s).slice(0, 2), ['gitSync', 'getStatus']);
  });

  it('keeps at most the limit', () => {
    const many = Array.from({ length: 100 }, (_, i) => `file${i}.ts`);
    assert.equal(fuzzyFilter('file', many, (f) => f, 10).length, 10);
  });
});
