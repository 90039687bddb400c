// Apply needs each rendered code block's info string: one per <pre>, in the same order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeBlockInfos, renderMarkdown } from '../../media/render';

describe('code block infos', () => {
  it('gives one info string per rendered block, fenced, indented and nested in a list alike', () => {
    const source = [
      'First:',
      '```ts src/a.ts',
      'const a = 1;',
      '```',
      '',
      '- in a list:',
      '',
      '  ~~~python',
      '  x = 1',
      '  ~~~',
      '',
      'Indented:',
      '',
      '    plain();',
      '',
      '```',
      'no info',
      '```',
    ].join('\n');
    const blocks = renderMarkdown(source).match(/<pre>/g) ?? [];
    assert.deepEqual(codeBlockInfos(source), ['ts src/a.ts', 'python', '', '']);
    assert.equal(blocks.length, 4);
  });

  it('counts a fence the stream has not closed yet', () => {
    assert.deepEqual(codeBlockInfos('Here:\n```js\nlet x'), ['js']);
  });
});
