import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chunkLines,
  chunkOf,
  clipboardChunk,
  maxChunkChars,
  maxLineChars,
  mostlyOverlap,
  spanAround,
  spanFrom,
  spanOver,
  spanText,
  type LineSource,
} from '../../client/src/context/chunks';
import { namesNear } from '../../client/src/context/identifiers';
import { chunksOnLeaving, dwellMs, noteEdit } from '../../client/src/context/leaving';
import { RecentSelections, maxSelectionChars } from '../../client/src/context/selections';

function numbered(count: number): LineSource {
  return { lineCount: count, lineAt: (i) => `line ${i}` };
}

describe('context chunk spans', () => {
  it('puts a chunk of a few dozen lines around the cursor, with room on both sides', () => {
    for (const line of [10, 35, 59, 100, 477]) {
      const span = spanAround(line, 1000);
      assert.equal(span.end - span.start, chunkLines, `line ${line}`);
      assert.ok(line - span.start >= chunkLines / 4 && span.end - line > chunkLines / 4, `line ${line} in ${JSON.stringify(span)}`);
    }
  });

  it('gives the same chunk for a cursor that moved a few lines, so it is sent once', () => {
    assert.deepEqual(spanAround(31, 1000), spanAround(40, 1000));
    assert.notDeepEqual(spanAround(31, 1000), spanAround(55, 1000));
  });

  it('stays inside short files and at their ends', () => {
    assert.deepEqual(spanAround(3, 12), { start: 0, end: 12 });
    assert.deepEqual(spanAround(0, 1000), { start: 0, end: chunkLines });
    assert.deepEqual(spanAround(999, 1000), { start: 1000 - chunkLines, end: 1000 });
    assert.deepEqual(spanAround(0, 0), { start: 0, end: 0 });
  });

  it('covers an edited region with a margin, or the part around the latest edit when it is long', () => {
    assert.deepEqual(spanOver(50, 55, 55, 1000), { start: 47, end: 59 });
    const long = spanOver(100, 400, 390, 1000);
    assert.equal(long.end - long.start, chunkLines);
    assert.ok(long.start <= 390 && 390 < long.end);
    assert.deepEqual(spanOver(0, 1, 1, 3), { start: 0, end: 3 });
  });

  it('starts a definition two lines above it and ends at its end, within a chunk', () => {
    assert.deepEqual(spanFrom(20, 25, 100), { start: 18, end: 26 });
    assert.deepEqual(spanFrom(20, 500, 1000), { start: 18, end: 18 + chunkLines });
    assert.deepEqual(spanFrom(0, 0, 10), { start: 0, end: 1 });
  });

  it('knows when two spans mostly overlap', () => {
    assert.ok(mostlyOverlap({ start: 0, end: 40 }, { start: 10, end: 30 }));
    assert.ok(!mostlyOverlap({ start: 0, end: 40 }, { start: 35, end: 75 }));
    assert.ok(!mostlyOverlap({ start: 0, end: 0 }, { start: 0, end: 10 }));
  });
});

describe('context chunk text', () => {
  it('joins the lines with a final line break and names where it starts', () => {
    const chunk = chunkOf('file', { path: 'src/a.ts', uri: 'file:///w/src/a.ts' }, numbered(100), { start: 20, end: 23 });
    assert.deepEqual(chunk, {
      path: 'src/a.ts',
      uri: 'file:///w/src/a.ts',
      startLine: 20,
      text: 'line 20\nline 21\nline 22\n',
      kind: 'file',
    });
  });

  it('cuts long lines and keeps the whole chunk under its size', () => {
    const wide: LineSource = { lineCount: 100, lineAt: () => 'x'.repeat(5000) };
    const text = spanText(wide, { start: 0, end: 40 });
    assert.ok(text !== null);
    for (const line of text.split('\n').slice(0, -1)) assert.equal(line.length, maxLineChars);
    assert.ok(text.length <= maxChunkChars, `${text.length}`);
  });

  it('drops trailing blank lines, and gives nothing for blanks only', () => {
    const lines = ['a', 'b', '', '  ', ''];
    const source: LineSource = { lineCount: lines.length, lineAt: (i) => lines[i] };
    assert.equal(spanText(source, { start: 0, end: 5 }), 'a\nb\n');
    assert.equal(spanText(source, { start: 2, end: 5 }), null);
    assert.equal(chunkOf('edit', { path: 'a', uri: 'file:///a' }, source, { start: 2, end: 5 }), null);
  });

  it('makes copied text a clipboard chunk with no place in a file, bounded like the rest', () => {
    assert.deepEqual(clipboardChunk('src/a.ts', 'foo();\r\nbar();'), {
      path: 'src/a.ts',
      uri: '',
      startLine: -1,
      text: 'foo();\nbar();\n',
      kind: 'clipboard',
    });
    const long = Array.from({ length: 200 }, (_, i) => `l${i}`).join('\n');
    assert.equal(clipboardChunk('a', long)?.text.split('\n').length, chunkLines + 1);
    assert.equal(clipboardChunk('a', ' \n '), null);
  });
});

describe('names near the cursor', () => {
  const lines = ['const total = computeTotal(items, taxRate);', '  return formatPrice(total, currency) + suffix;'];
  const at = (i: number): string => lines[i];

  it('puts the name under the cursor first, then the nearest on its line, then the line above', () => {
    const names = namesNear(at, 1, '  return formatPri'.length, 6).map((n) => n.name);
    assert.deepEqual(names, ['formatPrice', 'total', 'currency', 'suffix', 'taxRate', 'items']);
  });

  it('skips keywords, short names and repeats, and stops at the limit', () => {
    const names = namesNear((i) => ['if (x) { return this.value; } else { return value; }'][i], 0, 0, 4).map((n) => n.name);
    assert.deepEqual(names, ['value']);
    assert.equal(namesNear(at, 1, 10, 2).length, 2);
  });

  it('gives positions inside each name', () => {
    for (const n of namesNear(at, 1, 12)) assert.equal(lines[n.line].slice(n.character, n.character + n.name.length), n.name);
  });
});

describe('where copied text came from', () => {
  it('matches the clipboard only to a recent selection, whatever its line endings and outer blanks', () => {
    const s = new RecentSelections();
    s.note('function add(a, b) {\n  return a + b;\n}', 'src/math.ts');
    assert.deepEqual(s.match('  function add(a, b) {\r\n  return a + b;\r\n}\n'), {
      text: 'function add(a, b) {\n  return a + b;\n}',
      path: 'src/math.ts',
    });
    assert.equal(s.match('hunter2'), null, 'text copied elsewhere (a password) matches nothing');
    assert.equal(s.match(''), null);
  });

  it('remembers only the last few selections, and none too large', () => {
    const s = new RecentSelections();
    for (let i = 0; i < 20; i++) s.note(`selection ${i}`, 'a.ts');
    assert.equal(s.match('selection 0'), null);
    assert.ok(s.match('selection 19'));
    s.note('x'.repeat(maxSelectionChars + 1), 'a.ts');
    assert.equal(s.match('x'.repeat(maxSelectionChars + 1)), null);
    s.clear();
    assert.equal(s.match('selection 19'), null);
  });
});

describe('what a file gives when the user leaves it', () => {
  const origin = { path: 'src/a.ts', uri: 'file:///w/src/a.ts' };
  const source = numbered(300);

  it('gives the chunk around the cursor after a real visit, nothing after a glance', () => {
    const chunks = chunksOnLeaving({ since: 0, cursorLine: 100, edits: null }, dwellMs, origin, source);
    assert.deepEqual(
      chunks.map((c) => [c.kind, c.startLine]),
      [['file', 80]],
    );
    assert.deepEqual(chunksOnLeaving({ since: 0, cursorLine: 100, edits: null }, dwellMs - 1, origin, source), []);
  });

  it('gives the edited region, even after a glance, and one chunk when the cursor rests in it', () => {
    const edits = noteEdit(noteEdit(null, 100, 1), 104, 2);
    assert.deepEqual(edits, { first: 100, last: 105, latest: 105 });
    const chunks = chunksOnLeaving({ since: 0, cursorLine: 105, edits }, 10, origin, source);
    assert.deepEqual(
      chunks.map((c) => [c.kind, c.startLine, c.text.split('\n').length - 1]),
      [['edit', 97, 12]],
    );
  });

  it('gives both when the cursor went elsewhere after editing', () => {
    const chunks = chunksOnLeaving({ since: 0, cursorLine: 250, edits: noteEdit(null, 10, 1) }, 5000, origin, source);
    assert.deepEqual(
      chunks.map((c) => [c.kind, c.startLine]),
      [
        ['edit', 7],
        ['file', 240],
      ],
    );
  });
});
