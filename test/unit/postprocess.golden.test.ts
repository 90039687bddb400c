// Runs every golden case in test/golden/completion through the window builder and the whole
// post-processing chain, as the inline completion handler does.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { postprocess } from '../../server/src/completion/postprocess/index';
import { buildInfillWindow, defaultBudget } from '../../server/src/completion/prompt';
import { parseMarked } from './markers';

interface GoldenCase {
  description: string;
  /** Document text with `║` at the cursor. */
  text: string;
  /** What the model produced. */
  raw: string;
  maxLines: number;
  /** What the editor should show; null for nothing. */
  expected: string | null;
}

function readCase(file: string): GoldenCase {
  const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['description', 'text', 'raw'] as const) {
    if (typeof record[field] !== 'string') problems.push(`"${field}" must be a string`);
  }
  if (typeof record.maxLines !== 'number' || !Number.isInteger(record.maxLines)) problems.push('"maxLines" must be a whole number');
  if (typeof record.expected !== 'string' && record.expected !== null) problems.push('"expected" must be a string or null');
  if (problems.length > 0) throw new Error(`Golden case ${file} is malformed: ${problems.join('; ')}.`);
  return record as unknown as GoldenCase;
}

const dir = join(__dirname, '..', 'golden', 'completion');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

describe('golden completion cases', () => {
  it('finds the golden cases', () => {
    assert.ok(files.length >= 10, `expected at least 10 golden cases in ${dir}, found ${files.length}`);
  });
  for (const name of files) {
    const golden = readCase(join(dir, name));
    it(`${name}: ${golden.description}`, () => {
      const marked = parseMarked(golden.text);
      const window = buildInfillWindow(marked.text, marked.offset, defaultBudget);
      const shown = postprocess(golden.raw, { prefix: window.prefix, suffix: window.suffix, maxLines: golden.maxLines });
      assert.equal(shown, golden.expected);
    });
  }
});
