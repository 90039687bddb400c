import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noCompletionYet, partMarker, renderPromptDocument } from '../../client/src/context/promptDocument';
import type { LastCompletionPrompt } from '../../server/src/shared/protocol';

const prompt: LastCompletionPrompt = {
  uri: 'file:///w/src/main.ts',
  line: 41,
  character: 7,
  parts: [
    {
      kind: 'chunk',
      label: 'src/util.ts lines 10-49',
      text: '<|repo_name|>w\n<|file_sep|>src/util.ts\nexport function add(a: number, b: number) {}\n',
    },
    { kind: 'prefix', label: 'before the cursor line', text: '<|file_sep|>src/main.ts\n<|fim_prefix|>import { add } from "./util";\n' },
    { kind: 'suffix', label: 'after the cursor', text: '<|fim_suffix|>\n}\n' },
    { kind: 'middle', label: 'the cursor line up to the cursor', text: '<|fim_middle|>  add(' },
  ],
  figures: { promptTokens: 812, evaluatedTokens: 3, reusedTokens: 809, generatedTokens: 16, tokensPerSecond: 23.4, ms: 700 },
  capped: true,
  at: new Date(2026, 10, 30, 14, 5, 9).getTime(),
};

/** The document with its marker lines (and the line break added after an unterminated part) taken out. */
function promptOf(doc: string): string {
  const start = doc.indexOf('━━━━ 1/');
  return doc
    .slice(start)
    .replace(/\n(━━━━ [^\n]*━━━━ \([^)\n]*\)\n)/g, '$1')
    .replace(/━━━━ [^\n]*━━━━[^\n]*\n/g, '');
}

describe('the last completion prompt document', () => {
  it('marks where each part starts, in prompt order', () => {
    const doc = renderPromptDocument(prompt);
    const markers = prompt.parts.map((p, i) => partMarker(i, prompt.parts.length, p.kind, p.label));
    let from = 0;
    for (const m of markers) {
      const at = doc.indexOf(m, from);
      assert.ok(at >= from, `${m} after position ${from}:\n${doc}`);
      from = at + m.length;
    }
    assert.ok(doc.includes('━━━━ 1/4 context chunk: src/util.ts lines 10-49 ━━━━'), doc);
    assert.ok(doc.includes('━━━━ 2/4 prefix: before the cursor line ━━━━'));
  });

  it('holds the exact prompt between its markers', () => {
    assert.equal(promptOf(renderPromptDocument(prompt)), prompt.parts.map((p) => p.text).join(''));
  });

  it('says when a part runs on into the next line', () => {
    const runOn: LastCompletionPrompt = {
      ...prompt,
      parts: [
        { kind: 'prefix', label: 'a', text: 'no break' },
        { kind: 'middle', label: 'b', text: 'x' },
      ],
    };
    const doc = renderPromptDocument(runOn);
    assert.ok(doc.includes('no break\n━━━━ 2/2 middle: b ━━━━ (continues the previous line)\nx\n'), doc);
    assert.equal(promptOf(doc), 'no breakx');
  });

  it('gives the figures: tokens evaluated and reused, speed, time, capped, and where it ran', () => {
    const doc = renderPromptDocument(prompt);
    for (const phrase of [
      '812 (3 evaluated, 809 reused from the KV cache)',
      '16 tokens, 23.4 tok/s',
      '700 ms',
      'Capped:          yes',
      'line 42, column 8',
      'file:///w/src/main.ts',
      'Context chunks:  1',
      '2026-11-30 14:05:09',
    ]) {
      assert.ok(doc.includes(phrase), `${phrase}:\n${doc}`);
    }
    const uncapped = renderPromptDocument({ ...prompt, capped: false, figures: { ...prompt.figures, tokensPerSecond: null } });
    assert.ok(uncapped.includes('Capped:          no'));
    assert.ok(uncapped.includes('n/a (fewer than two tokens)'));
  });

  it('says that no completion has run yet, with the reason when there is one', () => {
    assert.ok(renderPromptDocument(null).includes(noCompletionYet));
    const doc = renderPromptDocument(null, 'This server does not report its prompts.');
    assert.ok(doc.includes(`${noCompletionYet}\nThis server does not report its prompts.`), doc);
  });
});
