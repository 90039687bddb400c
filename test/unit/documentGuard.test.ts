import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDocument, defaultGuardOptions } from '../../server/src/completion/documentGuard';
import { doc } from './markers';

function reasonOf(text: string, offset: number): string {
  const result = checkDocument(text, offset);
  assert.equal(result.ok, false, 'expected the document to be refused');
  return result.ok ? '' : result.reason;
}

describe('checkDocument', () => {
  it('accepts ordinary code', () => {
    const m = doc`export function add(a: number, b: number) {\n\treturn a ║+ b;\r\n}\n`;
    assert.deepEqual(checkDocument(m.text, m.offset), { ok: true });
  });

  it('accepts an empty document', () => {
    assert.deepEqual(checkDocument('', 0), { ok: true });
  });

  it('accepts non-ASCII text', () => {
    const m = doc`// Größe — 大きさ 😀\nconst ║x = 1;\n`;
    assert.deepEqual(checkDocument(m.text, m.offset), { ok: true });
  });

  it('refuses text with NUL characters near the cursor', () => {
    const text = 'PK\u0003\u0004' + 'abc\u0000def'.repeat(100);
    assert.match(reasonOf(text, 200), /looks binary \(it has NUL characters\)/);
  });

  it('refuses a binary header at the start of a big file even when the cursor is far away', () => {
    const text = '\u0000ELF' + 'a'.repeat(1_000_000);
    assert.match(reasonOf(text, 900_000), /looks binary/);
  });

  it('refuses text made largely of control characters and undecodable bytes', () => {
    const text = 'ab\u0001\u0002\ufffd\u0007cd\u001b\u0090'.repeat(200);
    assert.match(reasonOf(text, 1000), /looks binary \(\d+% of the characters near the cursor are control characters\)/);
  });

  it('accepts a few control characters in ordinary text', () => {
    const text = ('line of ordinary text\u000c\n'.repeat(20) + '\u001b[31mred\u001b[0m\n').repeat(10);
    assert.deepEqual(checkDocument(text, 300), { ok: true });
  });

  it('does not look at binary content far from the cursor', () => {
    const text = 'a'.repeat(1000) + '\n'.repeat(100_000) + '\u0000'.repeat(100);
    assert.deepEqual(checkDocument(text, 2000), { ok: true });
  });

  it('refuses a minified cursor line', () => {
    const text = 'var a=1;'.repeat(5000) + '\nshort line\n';
    assert.match(reasonOf(text, 20_000), /line at the cursor is longer than 10000 characters/);
  });

  it('refuses a 10 MB line at its end, where only the text before the cursor is long', () => {
    const text = 'x'.repeat(10_000_000);
    assert.match(reasonOf(text, text.length), /longer than/);
  });

  it('accepts a short cursor line next to minified lines', () => {
    const long = 'y'.repeat(50_000);
    const text = `${long}\nconst ok = 1;\n${long}`;
    assert.deepEqual(checkDocument(text, long.length + 5), { ok: true });
  });

  it('accepts a line of exactly the limit and refuses one character more', () => {
    const limit = defaultGuardOptions.maxLineChars;
    assert.deepEqual(checkDocument(`a\n${'z'.repeat(limit)}\nb`, 10), { ok: true });
    assert.equal(checkDocument(`a\n${'z'.repeat(limit + 1)}\nb`, 10).ok, false);
  });

  it('refuses an offset outside the document with a sentence', () => {
    assert.match(reasonOf('abc', 7), /cursor offset 7 is outside the document/);
  });
});
