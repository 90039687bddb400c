// Runs every golden case in test/golden/prompt through the prompt layout the model host uses,
// with each control token and each text as one readable "token", so a case shows the exact order
// of tokens the model gets: the ring in the model's repository format or as comment blocks.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { layoutPrompt, ringPieces, type FimControls, type PromptChunk } from '../../server/src/host/llama/promptLayout';
import type { PromptPart } from '../../server/src/shared/protocol';

type ModelKind = 'repo' | 'fim' | 'fimNoMiddle';

interface GoldenPrompt {
  description: string;
  model: ModelKind;
  repoName: string;
  commentPrefix: string;
  currentPath: string;
  chunks: PromptChunk[];
  before: string;
  middle: string;
  suffix: string;
  expected: PromptPart[];
}

const controlsOf: Record<ModelKind, FimControls<string>> = {
  repo: { bos: '<s>', pre: '<|fim_prefix|>', suf: '<|fim_suffix|>', mid: '<|fim_middle|>', rep: '<|repo_name|>', sep: '<|file_sep|>' },
  fim: { bos: '<s>', pre: '<|fim_prefix|>', suf: '<|fim_suffix|>', mid: '<|fim_middle|>', rep: null, sep: null },
  fimNoMiddle: { bos: '<s>', pre: '<|fim_prefix|>', suf: '<|fim_suffix|>', mid: null, rep: null, sep: null },
};

const tokenize = (text: string): string[] => (text === '' ? [] : [text]);

function readCase(file: string): GoldenPrompt {
  const value = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['description', 'repoName', 'commentPrefix', 'currentPath', 'before', 'middle', 'suffix'] as const) {
    if (typeof value[field] !== 'string') problems.push(`"${field}" must be a string`);
  }
  if (!['repo', 'fim', 'fimNoMiddle'].includes(value.model as string)) problems.push('"model" must be repo, fim or fimNoMiddle');
  if (!Array.isArray(value.chunks) || !Array.isArray(value.expected)) problems.push('"chunks" and "expected" must be lists');
  if (problems.length > 0) throw new Error(`Golden prompt ${file} is malformed: ${problems.join('; ')}.`);
  return value as unknown as GoldenPrompt;
}

const dir = join(__dirname, '..', 'golden', 'prompt');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

describe('golden prompt layouts', () => {
  it('finds the golden prompts', () => {
    assert.ok(files.length >= 4, `expected at least 4 golden prompts in ${dir}, found ${files.length}`);
  });

  for (const file of files) {
    const c = readCase(join(dir, file));
    it(`${file}: ${c.description}`, () => {
      const controls = controlsOf[c.model];
      const ring = ringPieces(controls, tokenize, c.chunks, { repoName: c.repoName, commentPrefix: c.commentPrefix });
      const layout = layoutPrompt({
        controls,
        tokenize,
        ring,
        currentPath: c.currentPath,
        before: tokenize(c.before),
        suffix: tokenize(c.suffix),
        middle: tokenize(c.middle),
      });
      const parts = layout.pieces.map((p) => ({ kind: p.kind, label: p.label, text: p.tokens.join('') }));
      assert.deepEqual(parts, c.expected);
      assert.equal(layout.tokens.join(''), c.expected.map((p) => p.text).join(''), 'the parts joined are the whole prompt');
      assert.equal(layout.tokens.slice(layout.stableLength).join(''), c.middle, 'only the cursor line follows the stable part');
    });
  }
});
