import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cutAtNul } from '../../server/src/completion/postprocess/cutAtNul';
import { dedupeLeadingWhitespace } from '../../server/src/completion/postprocess/dedupeLeadingWhitespace';
import { dropEmpty } from '../../server/src/completion/postprocess/dropEmpty';
import { dropRepeatedSuffixLines } from '../../server/src/completion/postprocess/dropRepeatedSuffixLines';
import { postprocess, type PostprocessContext } from '../../server/src/completion/postprocess/index';
import { limitLines } from '../../server/src/completion/postprocess/limitLines';
import { removeSuffixOverlap } from '../../server/src/completion/postprocess/removeSuffixOverlap';
import { trimTrailingWhitespace } from '../../server/src/completion/postprocess/trimTrailingWhitespace';
import { doc, type Marked } from './markers';

function ctx(marked: Marked, maxLines = 8): PostprocessContext {
  return { prefix: marked.prefix, suffix: marked.suffix, maxLines };
}

describe('limitLines', () => {
  const at = ctx(doc`function f() {║`, 2);
  it('keeps a completion within the limit', () => {
    assert.equal(limitLines('\n  a();', at), '\n  a();');
  });
  it('cuts a completion to maxLines lines', () => {
    assert.equal(limitLines('\n  a();\n  b();\n}', at), '\n  a();');
  });
  it('treats a maxLines below one as one line', () => {
    assert.equal(limitLines('x\ny', { ...at, maxLines: 0 }), 'x');
  });
});

describe('trimTrailingWhitespace', () => {
  const at = ctx(doc`let x = ║`);
  it('removes spaces at line ends and blank lines at the end', () => {
    assert.equal(trimTrailingWhitespace('1;  \n  y();\t\n\n   \n', at), '1;\n  y();');
  });
  it('keeps a leading line break, which starts a new line after the cursor', () => {
    assert.equal(trimTrailingWhitespace('\n  return 1;  ', at), '\n  return 1;');
  });
  it('keeps CRLF line breaks', () => {
    assert.equal(trimTrailingWhitespace('a \r\nb\r\n\r\n', at), 'a\r\nb');
  });
});

describe('removeSuffixOverlap', () => {
  it('drops a closing bracket that already follows the cursor', () => {
    assert.equal(removeSuffixOverlap('a, b)', ctx(doc`foo(║)`)), 'a, b');
  });
  it('drops the whole rest of the line when the completion ends with it', () => {
    assert.equal(removeSuffixOverlap('1, 2);', ctx(doc`foo(║);`)), '1, 2');
  });
  it('drops a partial overlap that starts with punctuation', () => {
    assert.equal(removeSuffixOverlap(' > 0)', ctx(doc`if (x║) {`)), ' > 0');
  });
  it('ignores trailing whitespace of the completion when looking for the overlap', () => {
    assert.equal(removeSuffixOverlap('a)  \n', ctx(doc`foo(║)`)), 'a');
  });
  it('leaves a partial word alone', () => {
    assert.equal(removeSuffixOverlap('x.len', ctx(doc`y = ║length;`)), 'x.len');
  });
  it('leaves the completion alone when the rest of the line is empty', () => {
    assert.equal(removeSuffixOverlap('a)', ctx(doc`foo(║\nbar)`)), 'a)');
  });
  it('leaves the completion alone when nothing overlaps', () => {
    assert.equal(removeSuffixOverlap('a, b', ctx(doc`foo(║)`)), 'a, b');
  });
});

describe('dropRepeatedSuffixLines', () => {
  it('cuts the completion where it repeats the closing brace below the cursor', () => {
    const at = ctx(doc`function f() {║\n}\n`);
    assert.equal(dropRepeatedSuffixLines('\n  return 1;\n}', at), '\n  return 1;');
  });
  it('cuts where several lines repeat the lines below, in order', () => {
    const at = ctx(doc`a();║\nb();\n\nc();\n`);
    assert.equal(dropRepeatedSuffixLines('\nx();\nb();\nc();', at), '\nx();');
  });
  it('keeps a line that matches only with other indentation', () => {
    const at = ctx(doc`  if (x) {║\n}\n`);
    assert.equal(dropRepeatedSuffixLines('\n    y();\n  }', at), '\n    y();\n  }');
  });
  it('keeps lines that match once and then go their own way', () => {
    const at = ctx(doc`a();║\nb();\nc();\n`);
    assert.equal(dropRepeatedSuffixLines('\nb();\nz();', at), '\nb();\nz();');
  });
  it('empties a completion that is only the next line, written on an empty cursor line', () => {
    const at = ctx(doc`  x();\n  ║\n  y();\n`);
    assert.equal(dropRepeatedSuffixLines('y();', at), '');
  });
  it('does not compare the first line when the cursor line has text before the cursor', () => {
    const at = ctx(doc`y║\ny();\n`);
    assert.equal(dropRepeatedSuffixLines('();', at), '();');
  });
  it('leaves the completion alone when nothing follows the cursor line', () => {
    assert.equal(dropRepeatedSuffixLines('\n}', ctx(doc`f() {║`)), '\n}');
  });
});

describe('dedupeLeadingWhitespace', () => {
  it('removes indentation the cursor is already after', () => {
    assert.equal(dedupeLeadingWhitespace('    return x;', ctx(doc`f() {\n    ║\n}`)), 'return x;');
  });
  it('touches only the first line', () => {
    assert.equal(dedupeLeadingWhitespace('  a();\n  b();', ctx(doc`  ║`)), 'a();\n  b();');
  });
  it('leaves other indentation alone', () => {
    assert.equal(dedupeLeadingWhitespace('\treturn x;', ctx(doc`    ║`)), '\treturn x;');
  });
  it('removes leading spaces after text that ends in a space', () => {
    assert.equal(dedupeLeadingWhitespace('  5;', ctx(doc`x = ║`)), '5;');
  });
  it('leaves a completion after a word alone', () => {
    assert.equal(dedupeLeadingWhitespace(' + 1', ctx(doc`x = y║`)), ' + 1');
  });
  it('leaves a completion at the line start alone', () => {
    assert.equal(dedupeLeadingWhitespace('  a();', ctx(doc`║`)), '  a();');
  });
});

describe('dropEmpty', () => {
  const at = ctx(doc`x║`);
  it('drops whitespace only', () => {
    assert.equal(dropEmpty(' \n\t\n', at), null);
    assert.equal(dropEmpty('', at), null);
  });
  it('keeps text', () => {
    assert.equal(dropEmpty(' y', at), ' y');
  });
});

describe('cutAtNul', () => {
  const at = ctx(doc`let x = ║`);
  it('ends a completion before its first NUL, which would make the file binary', () => {
    assert.equal(cutAtNul('1 + 2;\0\u0004x\0', at), '1 + 2;');
  });
  it('leaves text without one alone, other control characters too', () => {
    assert.equal(cutAtNul('a\tb\u0004c', at), 'a\tb\u0004c');
  });
  it('leaves nothing to show when the completion starts with one', () => {
    assert.equal(postprocess('\0return 1;', at), null);
  });
});

describe('postprocess chain', () => {
  it('runs the filters in order', () => {
    const at = ctx(doc`function f() {\n  ║\n}\n`, 8);
    assert.equal(postprocess('  return 1;   \n}\n\n', at), 'return 1;');
  });
  it('returns null when nothing is left', () => {
    assert.equal(postprocess(')', ctx(doc`foo(║)`)), null);
  });

  const line = fc.stringMatching(/^[ a-z(){};\t]{0,12}$/);
  const text = fc.array(line, { maxLength: 8 }).map((lines) => lines.join('\n'));
  it('never returns more than maxLines lines, trailing whitespace, or blank text', () => {
    fc.assert(
      fc.property(text, text, text, fc.integer({ min: 1, max: 6 }), (before, after, raw, maxLines) => {
        const at = ctx(doc`${before}║${after}`, maxLines);
        const out = postprocess(raw, at);
        if (out === null) return;
        assert.ok(out.split('\n').length <= maxLines);
        assert.notEqual(out.trim(), '');
        for (const l of out.split('\n')) assert.equal(l, l.trimEnd());
      }),
      { numRuns: 300 },
    );
  });
});
