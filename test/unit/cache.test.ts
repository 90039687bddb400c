import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { CompletionCache, type CompletionCacheKey } from '../../server/src/completion/cache';
import { buildInfillWindow } from '../../server/src/completion/prompt';

const uri = 'file:///work/a.ts';

function keyAt(prefix: string, suffix = '\n}\n', at = uri): CompletionCacheKey {
  return { uri: at, prefix, suffix };
}

describe('CompletionCache', () => {
  it('returns a completion at the same place', () => {
    const cache = new CompletionCache();
    assert.equal(cache.get(keyAt('function f() {')), undefined);
    cache.set(keyAt('function f() {'), '\n  return 1;');
    assert.equal(cache.get(keyAt('function f() {')), '\n  return 1;');
    assert.equal(cache.size, 1);
  });

  it('serves the rest of a completion while the user types along it', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('const total = '), 'prices.reduce(add, 0);');
    assert.equal(cache.get(keyAt('const total = p')), 'rices.reduce(add, 0);');
    assert.equal(cache.get(keyAt('const total = prices.')), 'reduce(add, 0);');
    assert.equal(cache.size, 1);
  });

  it('misses once the typing leaves the completion', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('const total = '), 'prices.reduce(add, 0);');
    assert.equal(cache.get(keyAt('const total = pr')), 'ices.reduce(add, 0);');
    assert.equal(cache.get(keyAt('const total = pa')), undefined);
    assert.equal(cache.get(keyAt('const total = prices.map')), undefined);
  });

  it('misses when the whole completion has been typed', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('x = '), '42;');
    assert.equal(cache.get(keyAt('x = 42;')), undefined);
  });

  it('misses when the text after the cursor or the document differs', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('x = '), '42;');
    assert.equal(cache.get(keyAt('x = ', '\n// other\n')), undefined);
    assert.equal(cache.get(keyAt('x = ', '\n}\n', 'file:///work/b.ts')), undefined);
    assert.equal(cache.get(keyAt('x = 4', '\n// other\n')), undefined);
    assert.equal(cache.get(keyAt('y = ')), undefined);
  });

  it('misses typing along when the text before the typed part changed', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('a = '), 'foo();');
    assert.equal(cache.get(keyAt('b = f')), undefined);
  });

  it('evicts the least recently used entry past maxEntries', () => {
    const cache = new CompletionCache({ maxEntries: 2 });
    cache.set(keyAt('one'), ' 1');
    cache.set(keyAt('two'), ' 2');
    assert.equal(cache.get(keyAt('one')), ' 1'); // "one" is now the most recent
    cache.set(keyAt('three'), ' 3');
    assert.equal(cache.get(keyAt('two')), undefined);
    assert.equal(cache.get(keyAt('one')), ' 1');
    assert.equal(cache.get(keyAt('three')), ' 3');
    assert.equal(cache.size, 2);
  });

  it('never holds more than maxEntries, and no oversized or empty completion', () => {
    const cache = new CompletionCache({ maxEntries: 50, maxCompletionChars: 100 });
    for (let i = 0; i < 1000; i++) cache.set(keyAt(`line ${i}`), `completion ${i}`);
    assert.equal(cache.size, 50);
    assert.equal(cache.get(keyAt('line 949')), undefined);
    assert.equal(cache.get(keyAt('line 950')), 'completion 950');
    const fresh = new CompletionCache({ maxCompletionChars: 100 });
    fresh.set(keyAt('big'), 'x'.repeat(101));
    fresh.set(keyAt('empty'), '');
    assert.equal(fresh.size, 0);
  });

  it('keys on the tail of the prefix and the head of the suffix only', () => {
    const cache = new CompletionCache({ prefixTailChars: 10, suffixHeadChars: 5 });
    cache.set(keyAt('AAAAAAAAAA0123456789', 'abcde-one'), 'done');
    assert.equal(cache.get(keyAt('BBB0123456789', 'abcde-two')), 'done');
    assert.equal(cache.get(keyAt('BBB0123456789d', 'abcde-two')), 'one');
  });

  it('forgets the entries of a closed document', () => {
    const cache = new CompletionCache();
    cache.set(keyAt('x = ', '', 'file:///a'), '1');
    cache.set(keyAt('x = ', '', 'file:///b'), '2');
    cache.forgetDocument('file:///a');
    assert.equal(cache.get(keyAt('x = ', '', 'file:///a')), undefined);
    assert.equal(cache.get(keyAt('x = ', '', 'file:///b')), '2');
  });

  it('rejects unusable options with a sentence', () => {
    assert.throws(() => new CompletionCache({ maxEntries: 0 }), /maxEntries must be a whole number of at least 1, not 0/);
  });

  it('serves the rest of any completion for any typed start of it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ minLength: 2, maxLength: 30 }), fc.nat(), (prefix, completion, cut) => {
        const cache = new CompletionCache();
        cache.set(keyAt(prefix), completion);
        const typed = 1 + (cut % (completion.length - 1));
        assert.equal(cache.get(keyAt(prefix + completion.slice(0, typed))), completion.slice(typed));
      }),
      { numRuns: 300 },
    );
  });

  it('does not keep the documents its keys were sliced from alive', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cache = new CompletionCache();
    gc();
    const before = process.memoryUsage().heapUsed;
    const documentChars = 1_000_000;
    for (let i = 0; i < 40; i++) {
      // A fresh flat string per document version, as a text buffer produces on every edit.
      const bytes = Buffer.alloc(documentChars, 'a');
      bytes.write(`version ${i}`, documentChars / 2 - 20, 'latin1');
      const text = bytes.toString('latin1');
      const window = buildInfillWindow(text, documentChars / 2);
      cache.set({ uri, prefix: window.prefix, suffix: window.suffix }, `completion ${i}`);
    }
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    assert.equal(cache.size, 40);
    assert.ok(retained < 10 * documentChars, `the cache retains ${retained} bytes for 40 small entries`);
  });
});
