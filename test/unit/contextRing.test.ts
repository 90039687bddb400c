import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ContextRing,
  nearDuplicate,
  parseChunks,
  ringLimitsFor,
  ringSize,
  ringTokenBudget,
  type RingLimits,
} from '../../server/src/completion/contextRing';
import { layoutPrompt, ringPieces, type FimControls } from '../../server/src/host/llama/promptLayout';
import type { ContextChunk } from '../../server/src/shared/protocol';

const limits: RingLimits = { maxChunks: 4, maxLinesPerChunk: 10, maxChars: 400 };

function chunk(path: string, startLine: number, lines: string[], kind: ContextChunk['kind'] = 'file'): ContextChunk {
  return { path, uri: path === '' ? '' : `file:///w/${path}`, startLine, text: lines.join('\n'), kind };
}

const body = (name: string, n = 3): string[] => Array.from({ length: n }, (_, i) => `const ${name}${i} = ${i};`);

describe('ContextRing', () => {
  it('keeps chunks oldest first and appends new ones', () => {
    const ring = new ContextRing(limits);
    assert.equal(ring.add([chunk('a.ts', 0, body('a')), chunk('b.ts', 0, body('b'))]), true);
    ring.add([chunk('c.ts', 0, body('c'))]);
    assert.deepEqual(
      ring.select(null).map((c) => c.path),
      ['a.ts', 'b.ts', 'c.ts'],
    );
  });

  it('drops a near-duplicate and keeps the older one in place', () => {
    const ring = new ContextRing(limits);
    ring.add([chunk('a.ts', 0, body('a', 10)), chunk('b.ts', 0, body('b'))]);
    const version = ring.version;
    // The same lines, indented differently, from a copy.
    assert.equal(
      ring.add([
        chunk(
          '',
          -1,
          body('a', 10).map((l) => `  ${l}`),
          'clipboard',
        ),
      ]),
      false,
    );
    assert.equal(ring.version, version);
    assert.deepEqual(
      ring.select(null).map((c) => c.path),
      ['a.ts', 'b.ts'],
    );
  });

  it('replaces an overlapping chunk of the same file that says something new, at the end', () => {
    const ring = new ContextRing(limits);
    ring.add([chunk('a.ts', 0, body('a')), chunk('b.ts', 0, body('b'))]);
    ring.add([chunk('a.ts', 2, body('x'))]);
    assert.deepEqual(
      ring.select(null).map((c) => `${c.path}:${c.startLine}`),
      ['b.ts:0', 'a.ts:2'],
    );
  });

  it('evicts the oldest over the chunk count and over the character budget', () => {
    const ring = new ContextRing(limits);
    ring.add(['a', 'b', 'c', 'd', 'e'].map((n) => chunk(`${n}.ts`, 0, body(n))));
    assert.deepEqual(
      ring.select(null).map((c) => c.path),
      ['b.ts', 'c.ts', 'd.ts', 'e.ts'],
    );
    const small = new ContextRing({ ...limits, maxChars: 100 });
    small.add(['a', 'b', 'c'].map((n) => chunk(`${n}.ts`, 0, body(n))));
    assert.ok(small.chars <= 100, `${small.chars} characters held`);
    assert.deepEqual(
      small.select(null).map((c) => c.path),
      ['b.ts', 'c.ts'],
    );
  });

  it('cuts a chunk to its line limit and a huge line to half the budget', () => {
    const ring = new ContextRing(limits);
    ring.add([chunk('a.ts', 5, body('a', 30))]);
    const [held] = ring.select(null);
    assert.equal(held?.text.split('\n').length, 10);
    assert.equal(held?.endLine, 14);
    ring.add([chunk('min.js', 0, ['x'.repeat(5000)])]);
    assert.ok(ring.select(null).every((c) => c.text.length <= 200));
  });

  it('counts a character outside ASCII as a token, so a CJK chunk is cut to a quarter of the characters', () => {
    const ring = new ContextRing(limits);
    ring.add([chunk('a.ts', 0, body('a', 2)), chunk('cjk.md', 0, ['漢字仮名交じり文'.repeat(200)])]);
    const held = ring.select(null);
    assert.equal(held.length, 2, 'the ASCII chunk stays');
    const cjk = held.find((c) => c.path === 'cjk.md');
    assert.ok(cjk && cjk.text.length <= 200 / 4, `the CJK chunk keeps ${cjk?.text.length} characters`);
    assert.equal(ringSize(cjk.text), cjk.text.length * 4);
  });

  it("leaves out chunks that overlap the current file's prompt window, not other lines of it", () => {
    const ring = new ContextRing(limits);
    ring.add([chunk('a.ts', 0, body('a')), chunk('a.ts', 100, body('far')), chunk('b.ts', 0, body('b'))]);
    const selected = ring.select({ uri: 'file:///w/a.ts', startLine: 50, endLine: 101 });
    assert.deepEqual(
      selected.map((c) => `${c.path}:${c.startLine}`),
      ['a.ts:0', 'b.ts:0'],
    );
  });

  it('ignores empty chunks and a zero budget; forgets a document; clears', () => {
    const off = new ContextRing({ ...limits, maxChars: 0 });
    assert.equal(off.add([chunk('a.ts', 0, body('a'))]), false);
    const ring = new ContextRing(limits);
    assert.equal(ring.add([chunk('a.ts', 0, ['   ', ''])]), false);
    ring.add([chunk('a.ts', 0, body('a')), chunk('b.ts', 0, body('b'))]);
    assert.equal(ring.forgetDocument('file:///w/a.ts'), true);
    assert.deepEqual(
      ring.select(null).map((c) => c.path),
      ['b.ts'],
    );
    ring.clear();
    assert.equal(ring.size, 0);
  });

  it('is never more than half the context', () => {
    assert.equal(ringTokenBudget(1024, 4096), 1024);
    assert.equal(ringTokenBudget(4096, 2048), 1024);
    assert.equal(ringLimitsFor(4096, 2048).maxChars, 1024 * 4);
  });

  it('tells near-duplicates apart from different texts', () => {
    assert.equal(nearDuplicate('a\nb\nc', ' a\n b \nc'), true);
    assert.equal(nearDuplicate('a\nb\nc', 'a\nb\nd'), false);
  });
});

describe('parseChunks', () => {
  it('keeps the well-formed chunks and says how many were not', () => {
    const good = chunk('a.ts', 0, body('a'));
    const { chunks, problem } = parseChunks({ chunks: [good, { path: 'x' }, 3] });
    assert.deepEqual(chunks, [good]);
    assert.match(problem ?? '', /^2 context chunks were ignored/);
    assert.match(parseChunks(null).problem ?? '', /needs params/);
    assert.equal(parseChunks({ chunks: [] }).problem, null);
  });
});

describe('ring in the prompt', () => {
  const controls: FimControls<string> = { bos: '<s>', pre: 'PRE', suf: 'SUF', mid: 'MID', rep: 'REP', sep: 'SEP' };
  // One "token" per character, as the generated test model nearly has.
  const tokenize = (text: string): string[] => [...text];

  it('adding a chunk leaves every token of the older chunks in place', () => {
    const ring = new ContextRing(limits);
    const prompt = (): string[] =>
      layoutPrompt({
        controls,
        tokenize,
        ring: ringPieces(controls, tokenize, ring.select(null), { repoName: 'w', commentPrefix: '//' }),
        currentPath: 'cur.ts',
        before: tokenize('let a;\n'),
        suffix: tokenize('\n'),
        middle: tokenize('let b'),
      }).tokens;
    ring.add([chunk('a.ts', 0, body('a'))]);
    const first = prompt();
    ring.add([chunk('b.ts', 0, body('b'))]);
    const second = prompt();
    const ringEnd = first.indexOf('SEP', 1 + first.indexOf('SEP'));
    assert.deepEqual(second.slice(0, ringEnd), first.slice(0, ringEnd));
  });
});
