import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkLines, defaultChunkLimits, rangeText, splitLines, type ChunkLimits } from '../../server/src/workspace/chunking';

const small: ChunkLimits = { maxLines: 12, maxChars: 2000, minLines: 2, overlapLines: 2 };

function fn(name: string, bodyLines: number): string[] {
  return [`/** Does ${name}. */`, `export function ${name}() {`, ...Array.from({ length: bodyLines }, (_, i) => `  step${i}();`), '}'];
}

describe('chunkLines', () => {
  it('cuts between top-level declarations, each with its doc comment', () => {
    const lines = [...fn('alpha', 6), '', ...fn('beta', 6), '', ...fn('gamma', 6)];
    const chunks = chunkLines(lines, small);
    assert.deepEqual(
      chunks.map((c) => lines[c.startLine]),
      ['/** Does alpha. */', '/** Does beta. */', '/** Does gamma. */'],
    );
    // A chunk ends at its closing brace, not on the blank line after it.
    for (const c of chunks) assert.equal(lines[c.endLine], '}');
  });

  it('keeps small declarations together up to the limit', () => {
    const lines = ['const a = 1;', '', 'const b = 2;', '', 'const c = 3;'];
    assert.deepEqual(chunkLines(lines, small), [{ startLine: 0, endLine: 4 }]);
  });

  it('cuts a long class between its methods, not inside one', () => {
    const method = (n: string): string[] => [`  ${n}() {`, '    work();', '    more();', '  }'];
    const lines = ['class Big {', ...method('a'), '', ...method('b'), '', ...method('c'), '', ...method('d'), '}'];
    const chunks = chunkLines(lines, small);
    assert.ok(chunks.length >= 2, JSON.stringify(chunks));
    for (const c of chunks.slice(1)) assert.match(lines[c.startLine], /^ {2}\w\(\) \{$/);
  });

  it('cuts text without any good place in windows that overlap', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `x${i} = ${i}`);
    const chunks = chunkLines(lines, small);
    assert.deepEqual(chunks[0], { startLine: 0, endLine: 11 });
    assert.equal(chunks[1].startLine, 12 - small.overlapLines);
    assert.equal(chunks[chunks.length - 1].endLine, 29);
    for (const c of chunks) assert.ok(c.endLine - c.startLine + 1 <= small.maxLines);
  });

  it('covers every non-blank line, and bounds chunks by characters too', () => {
    const text = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? '' : `line ${i} ${'x'.repeat(i % 50)}`)).join('\n');
    const lines = splitLines(text);
    const chunks = chunkLines(lines, defaultChunkLimits);
    const covered = new Set<number>();
    for (const c of chunks) {
      for (let i = c.startLine; i <= c.endLine; i++) covered.add(i);
      assert.ok(rangeText(lines, c).length <= defaultChunkLimits.maxChars);
    }
    lines.forEach((l, i) => l.trim() && assert.ok(covered.has(i), `line ${i} is in no chunk`));
  });

  it('makes one chunk of a line longer than the limit, and none of blank text', () => {
    assert.deepEqual(chunkLines(['a'.repeat(5000)], defaultChunkLimits), [{ startLine: 0, endLine: 0 }]);
    assert.deepEqual(chunkLines(['', '  ', ''], defaultChunkLimits), []);
  });

  it('splits \\r\\n and \\r line ends like \\n', () => {
    assert.deepEqual(splitLines('a\r\nb\rc\nd'), ['a', 'b', 'c', 'd']);
  });

  it('keeps a Python function with its decorator and body', () => {
    const lines = [
      'import os',
      '',
      '@cache',
      'def load(path):',
      '    with open(path) as f:',
      '',
      '        return f.read()',
      '',
      'def save(path, data):',
      '    pass',
    ];
    const chunks = chunkLines(lines, { ...small, maxLines: 6 });
    assert.ok(
      chunks.some((c) => lines[c.startLine] === '@cache' && c.endLine >= 6),
      JSON.stringify(chunks),
    );
  });
});
