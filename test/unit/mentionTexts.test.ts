// The texts of @problems and @changes parts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterDiff } from '../../client/src/chat/diffFilter';
import { problemsText, type Problem } from '../../client/src/chat/problemsText';

describe('@problems text', () => {
  it('lists errors first, one line each, with 1-based lines', () => {
    const problems: Problem[] = [
      { path: 'src/b.ts', line: 4, severity: 'warning', message: "'x' is unused." },
      { path: 'src/a.ts', line: 11, severity: 'error', message: "Cannot find name 'y'.\n  More detail.", source: 'ts' },
    ];
    assert.equal(
      problemsText(problems),
      "src/a.ts:12: error: Cannot find name 'y'. More detail. (ts)\nsrc/b.ts:5: warning: 'x' is unused.",
    );
  });

  it('says there are none, and counts what is over the limit', () => {
    assert.equal(problemsText([]), 'No problems are reported.');
    const many: Problem[] = Array.from({ length: 5 }, (_, i) => ({ path: 'a.ts', line: i, severity: 'info', message: 'm' }));
    assert.equal(problemsText(many, 2).split('\n').at(-1), '… and 3 more.');
  });
});

describe('@changes filter', () => {
  const diff = [
    'diff --git a/src/a.ts b/src/a.ts',
    'index 1..2 100644',
    '--- a/src/a.ts',
    '+++ b/src/a.ts',
    '@@ -1 +1 @@',
    '-old',
    '+new',
    'diff --git a/.env b/.env',
    '--- a/.env',
    '+++ b/.env',
    '@@ -1 +1 @@',
    '-TOKEN=1',
    '+TOKEN=2',
    'diff --git a/gone.ts b/gone.ts',
    'deleted file mode 100644',
    '',
  ].join('\n');

  it('takes out the sections of excluded files and names them', () => {
    const { text, left } = filterDiff(diff, (p) => p !== '.env');
    assert.deepEqual(left, ['.env']);
    assert.ok(!text.includes('TOKEN'));
    assert.ok(text.includes('+new') && text.includes('diff --git a/gone.ts b/gone.ts'));
  });

  it('keeps everything when everything is allowed', () => {
    assert.deepEqual(
      filterDiff(diff, () => true),
      { text: diff, left: [] },
    );
  });
});
