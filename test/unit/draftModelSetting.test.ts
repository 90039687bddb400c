// localLlm.completion.draftModel as the settings parse it: a trimmed string, empty by default, and
// anything else refused in a sentence; a change reloads the model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsReload, normalizeSettings } from '../../server/src/shared/settings';

describe('the draft model setting', () => {
  it('is empty by default and trimmed when set', () => {
    assert.equal(normalizeSettings({}).settings.completion.draftModel, '');
    const set = normalizeSettings({ completion: { draftModel: '  hf:Qwen/Qwen2.5-Coder-0.5B-GGUF/q8_0.gguf ' } });
    assert.equal(set.settings.completion.draftModel, 'hf:Qwen/Qwen2.5-Coder-0.5B-GGUF/q8_0.gguf');
    assert.deepEqual(set.problems, []);
  });

  it('refuses a value that is not a string in a sentence, and uses none', () => {
    const { settings, problems } = normalizeSettings({ completion: { draftModel: 42 } });
    assert.equal(settings.completion.draftModel, '');
    assert.deepEqual(problems, ['localLlm.completion.draftModel must be a file path or an hf: URI, not 42; none is used.']);
  });

  it('reloads the model when it changes', () => {
    const before = normalizeSettings({}).settings;
    const after = normalizeSettings({ completion: { draftModel: '/models/draft.gguf' } }).settings;
    assert.equal(needsReload(before, after), true);
    assert.equal(needsReload(after, after), false);
  });
});
