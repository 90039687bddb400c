import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildInfillWindow,
  cursorLineReserveChars,
  defaultBudget,
  lineBoundaryScanChars,
  stopTextsFor,
  windowOptionsFor,
  windowStepChars,
} from '../../server/src/completion/prompt';
import { doc } from './markers';

describe('buildInfillWindow', () => {
  it('takes the whole of a small document', () => {
    const m = doc`function f() {\n  ret║urn 1;\n}\n`;
    const w = buildInfillWindow(m.text, m.offset);
    assert.equal(w.prefix, m.prefix);
    assert.equal(w.suffix, m.suffix);
    assert.equal(w.prefixStart, 0);
    assert.equal(w.suffixEnd, m.text.length);
    assert.equal(w.linePrefix, '  ret');
    assert.equal(w.lineSuffix, 'urn 1;');
  });

  it('drops the \\r of a CRLF line from lineSuffix', () => {
    const m = doc`a║b\r\nc`;
    assert.equal(buildInfillWindow(m.text, m.offset).lineSuffix, 'b');
  });

  it('cuts a 10 MB document to the window, at line boundaries', () => {
    const line = 'const value = compute(input, options); // some comment text\n';
    const text = line.repeat(Math.ceil(10_000_000 / line.length));
    const offset = Math.floor(text.length / line.length / 2) * line.length + 7;
    const opts = { prefixChars: 6000, suffixChars: 1500 };
    const w = buildInfillWindow(text, offset, opts);
    // The start moves in steps and keeps room for the cursor line, so the prefix is that much shorter at worst.
    const slack = windowStepChars + cursorLineReserveChars + line.length;
    assert.ok(w.prefix.length <= opts.prefixChars && w.prefix.length > opts.prefixChars - slack, `${w.prefix.length}`);
    assert.ok(w.suffix.length <= opts.suffixChars && w.suffix.length > opts.suffixChars - line.length);
    assert.equal(w.prefix, text.slice(w.prefixStart, offset));
    assert.equal(w.suffix, text.slice(offset, w.suffixEnd));
    assert.equal(text[w.prefixStart - 1], '\n', 'the prefix starts at a line start');
    assert.ok(w.suffix.endsWith('\n'), 'the suffix ends after a line break');
    assert.equal(w.linePrefix, line.slice(0, 7));
  });

  it('cuts a 10 MB single-line document mid-line, to exactly the window', () => {
    const text = 'x'.repeat(10_000_000);
    const w = buildInfillWindow(text, 5_000_000, defaultBudget);
    assert.equal(w.prefix.length, defaultBudget.prefixChars);
    assert.equal(w.suffix.length, defaultBudget.suffixChars);
    assert.equal(w.linePrefix.length, defaultBudget.prefixChars);
  });

  it('looks for a line boundary only near the cut', () => {
    const far = lineBoundaryScanChars + 10;
    const text = 'a\n' + 'b'.repeat(far) + 'c'.repeat(100);
    const w = buildInfillWindow(text, text.length, { prefixChars: far + 50, suffixChars: 0 });
    assert.equal(w.prefix.length, far + 50, 'the line break is too far from the cut to be used');
  });

  it('never splits a surrogate pair at the cut', () => {
    const text = '😀'.repeat(2000);
    const w = buildInfillWindow(text, 2000, { prefixChars: 101, suffixChars: 101 });
    assert.equal(w.prefix.length, 100);
    assert.equal(w.suffix.length, 100);
    assert.equal(w.prefix, '😀'.repeat(50));
  });

  it('has defaults derived from the token budget', () => {
    const { prefixChars, suffixChars } = defaultBudget;
    assert.deepEqual({ prefixChars, suffixChars }, windowOptionsFor(defaultBudget));
    assert.ok(prefixChars >= defaultBudget.prefixTokens * 4 && suffixChars >= defaultBudget.suffixTokens * 4);
  });

  it('rejects an offset outside the document with a sentence', () => {
    assert.throws(() => buildInfillWindow('abc', 4), /cursor offset 4 is outside the document, which has 3 characters/);
    assert.throws(() => buildInfillWindow('abc', 1.5), RangeError);
    assert.throws(() => buildInfillWindow('abc', 1, { prefixChars: -1, suffixChars: 0 }), /prefixChars/);
  });

  it('keeps the text before the cursor line and after the cursor byte-identical while the user types along a line', () => {
    const body = Array.from({ length: 3000 }, (_, i) => `  const v${i} = compute(v${i - 1}, ${i}); // step ${i}`).join('\n');
    const at = body.indexOf('\n', Math.floor(body.length / 2)) + 1;
    const typed = 'const answer = compute(total, 42);';
    let previous: ReturnType<typeof buildInfillWindow> | null = null;
    for (let n = 0; n <= typed.length; n++) {
      const text = body.slice(0, at) + typed.slice(0, n) + '\n' + body.slice(at);
      const w = buildInfillWindow(text, at + n, defaultBudget);
      assert.equal(w.linePrefix, typed.slice(0, n));
      assert.equal(w.prefix, w.beforeLine + w.linePrefix);
      if (previous) {
        assert.equal(w.beforeLine, previous.beforeLine, `the part before the line moved after ${n} characters`);
        assert.equal(w.suffix, previous.suffix, `the suffix moved after ${n} characters`);
      }
      previous = w;
    }
  });

  it('moves the start in coarse steps as lines are added: Enter mostly only appends to the part before the line', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}: ${'x'.repeat(i % 40)}`);
    const text = lines.join('\n');
    const lineStart = (n: number): number => lines.slice(0, n).join('\n').length + 1;
    const starts = new Set<number>();
    let appended = 0;
    let previous: ReturnType<typeof buildInfillWindow> | null = null;
    for (let n = 600; n < 1600; n++) {
      const offset = lineStart(n);
      const w = buildInfillWindow(text, offset, defaultBudget);
      starts.add(w.prefixStart);
      if (previous && w.prefixStart === previous.prefixStart) {
        assert.ok(w.beforeLine.startsWith(previous.beforeLine), 'same start, so the earlier text is a prefix of the new one');
        appended++;
      }
      previous = w;
    }
    // 1000 Enter presses: the start moved only about once per step of text passed over.
    const passed = lineStart(1600) - lineStart(600);
    assert.ok(starts.size <= Math.ceil(passed / windowStepChars) + 2, `the start moved ${starts.size} times over ${passed} characters`);
    assert.ok(appended >= 900, `only ${appended} of 999 Enters kept the start`);
  });

  it('always returns the text around the cursor, within the bounds', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\r', '😀', 'é'), maxLength: 400 }),
        fc.nat(),
        fc.nat({ max: 120 }),
        fc.nat({ max: 120 }),
        (text, rawOffset, prefixChars, suffixChars) => {
          const offset = rawOffset % (text.length + 1);
          const w = buildInfillWindow(text, offset, { prefixChars, suffixChars });
          assert.equal(w.prefix, text.slice(w.prefixStart, offset));
          assert.equal(w.suffix, text.slice(offset, w.suffixEnd));
          assert.ok(w.prefix.length <= prefixChars && w.suffix.length <= suffixChars);
          assert.ok(w.prefix.endsWith(w.linePrefix) && !w.linePrefix.includes('\n'));
          assert.equal(w.prefix, w.beforeLine + w.linePrefix);
          assert.ok(w.suffix.startsWith(w.lineSuffix) && !w.lineSuffix.includes('\n'));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('stopTextsFor', () => {
  it('stops at the next non-blank line, trimmed', () => {
    assert.deepEqual(stopTextsFor('\n\n    return result;\n}\n'), ['return result;']);
  });
  it('stops at the rest of the cursor line and the next line when both say enough', () => {
    assert.deepEqual(stopTextsFor('(a, b, c) {\n  body();\n'), ['(a, b, c) {', 'body();']);
  });
  it('skips lines too short to mean anything', () => {
    assert.deepEqual(stopTextsFor(')\n}\n'), []);
    assert.deepEqual(stopTextsFor(''), []);
  });
  it('cuts a long line to its start', () => {
    const [stop] = stopTextsFor(`\n${'word '.repeat(100)}\n`);
    assert.equal(stop, 'word '.repeat(100).trim().slice(0, 64));
  });
  it('gives each text once', () => {
    assert.deepEqual(stopTextsFor('  done();\n  done();\n'), ['done();']);
  });
});
