import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockTarget, codeOfAnswer, pathFromInfo } from '../../client/src/edits/codeBlock';

describe('code block target', () => {
  it('reads a path from the fence info string in its common spellings', () => {
    assert.equal(pathFromInfo('ts src/math.ts'), 'src/math.ts');
    assert.equal(pathFromInfo('typescript:src/math.ts'), 'src/math.ts');
    assert.equal(pathFromInfo('python title="app.py"'), 'app.py');
    assert.equal(pathFromInfo('lib/util.js'), 'lib/util.js');
    assert.equal(pathFromInfo('ts'), null);
    assert.equal(pathFromInfo('c++'), null);
    assert.equal(pathFromInfo(''), null);
  });

  it('reads a path from a first-line comment and takes that line out of the code', () => {
    assert.deepEqual(blockTarget('ts', '// src/math.ts\nexport const a = 1;'), { path: 'src/math.ts', code: 'export const a = 1;' });
    assert.deepEqual(blockTarget('python', '# File: app.py\nprint(1)'), { path: 'app.py', code: 'print(1)' });
    assert.deepEqual(blockTarget('css', '/* style.css */\na {}'), { path: 'style.css', code: 'a {}' });
    assert.deepEqual(blockTarget('html', '<!-- index.html -->\n<p></p>'), { path: 'index.html', code: '<p></p>' });
  });

  it('leaves an ordinary first-line comment and a shebang in the code', () => {
    assert.deepEqual(blockTarget('ts', '// adds two numbers\nexport const a = 1;'), {
      path: null,
      code: '// adds two numbers\nexport const a = 1;',
    });
    assert.deepEqual(blockTarget('sh', '#!/bin/sh\necho hi'), { path: null, code: '#!/bin/sh\necho hi' });
  });
});

describe('code of an Edit Selection answer', () => {
  it('takes the first fenced block, or the whole answer without one', () => {
    assert.equal(codeOfAnswer('Here:\n```ts\nconst a = 2;\n```\nDone.'), 'const a = 2;');
    assert.equal(codeOfAnswer('~~~\nx = 1\ny = 2\n~~~'), 'x = 1\ny = 2');
    assert.equal(codeOfAnswer('const a = 2;\n'), 'const a = 2;');
    // A stream that stopped inside the fence still gives what was written.
    assert.equal(codeOfAnswer('```py\nx = 1\n'), 'x = 1');
    assert.equal(codeOfAnswer('  \n'), null);
    assert.equal(codeOfAnswer('```\n```'), null);
  });
});
