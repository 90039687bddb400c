import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileNotSeen, mergedFile, mergeQuestion, mergeRule } from '../../client/src/edits/mergePrompt';

describe('merge with the model: the question', () => {
  it('fences the fragment with its language, names the file and ends with the rule', () => {
    const q = mergeQuestion('src/shapes.ts', 'typescript', 'export function volume() {\n  return 1;\n}\n\n');
    assert.equal(
      q,
      `Merge this code into src/shapes.ts:\n\n\`\`\`typescript\nexport function volume() {\n  return 1;\n}\n\`\`\`\n\n${mergeRule}`,
    );
  });

  it('uses a fence longer than any backtick run in the fragment, so the fragment cannot close it', () => {
    const fragment = 'const md = `\n```ts\nx\n```\n`;';
    const q = mergeQuestion('a.ts', 'ts', fragment);
    assert.ok(q.includes(`\`\`\`\`ts\n${fragment}\n\`\`\`\`\n`), q);
  });
});

describe('merge with the model: whether the model saw the whole file', () => {
  const label = 'src/shapes.ts';
  it('is fine when the file went in whole', () => {
    assert.equal(fileNotSeen([{ kind: 'file', label, fit: 'whole' }], label), null);
  });

  it('refuses a file that was cut to fit or left out, and one that is missing', () => {
    assert.match(
      fileNotSeen([{ kind: 'file', label, fit: 'trimmed' }], label) ?? '',
      /too large for the model's context \(it was cut short\)/,
    );
    assert.match(fileNotSeen([{ kind: 'file', label, fit: 'dropped' }], label) ?? '', /\(it was left out\)/);
    assert.match(fileNotSeen(undefined, label) ?? '', /did not reach the model/);
    // Another file of the same name in another kind of part does not count.
    assert.match(fileNotSeen([{ kind: 'selection', label, fit: 'whole' }], label) ?? '', /did not reach the model/);
  });
});

describe('merge with the model: the merged file from the answer', () => {
  it('takes the fenced block and keeps the final line break the file had', () => {
    const answer = 'Here it is:\n```ts\nexport const a = 1;\nexport const b = 2;\n```\nDone.';
    assert.deepEqual(mergedFile(answer, 'eos', 'export const a = 1;\n', 'a.ts'), {
      text: 'export const a = 1;\nexport const b = 2;\n',
      cutShort: false,
    });
    assert.deepEqual(mergedFile(answer, 'eos', 'export const a = 1;', 'a.ts'), {
      text: 'export const a = 1;\nexport const b = 2;',
      cutShort: false,
    });
  });

  it('marks an answer stopped at the length limit as possibly cut short', () => {
    const merged = mergedFile('```ts\nexport const a = 1;\nexport con', 'maxTokens', 'export const a = 1;\n', 'a.ts');
    assert.deepEqual(merged, { text: 'export const a = 1;\nexport con\n', cutShort: true });
  });

  it('says so when the answer has no code', () => {
    assert.deepEqual(mergedFile('```\n\n```', 'eos', 'x\n', 'a.ts'), {
      error: 'The model answered with no code, so a.ts has no merge to review.',
    });
    assert.deepEqual(mergedFile('   ', 'eos', 'x\n', 'a.ts'), {
      error: 'The model answered with no code, so a.ts has no merge to review.',
    });
  });
});
