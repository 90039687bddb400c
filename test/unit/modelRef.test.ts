// The one grammar of the `localLlm.model` setting (server/src/shared/modelRef.ts): hf: URIs in
// every spelling, http(s) URLs, local paths; and what Select Model's download box accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRemoteModelRef, parseModelRef, type HfModelRef, type ModelRef } from '../../server/src/shared/modelRef';

function parsed(text: string): ModelRef {
  const result = parseModelRef(text);
  assert.ok(result.ok, `${JSON.stringify(text)} parses: ${result.ok ? '' : result.problem}`);
  return result.ref;
}

function hf(text: string): HfModelRef {
  const ref = parsed(text);
  assert.equal(ref.kind, 'hf', text);
  return ref as HfModelRef;
}

function problem(text: string): string {
  const result = parseModelRef(text);
  assert.ok(!result.ok, `${JSON.stringify(text)} is refused`);
  return result.problem;
}

const sentence = /^[A-Z].*\.$/;

describe('hf: references', () => {
  it('reads user, repository and file', () => {
    assert.deepEqual(hf('hf:user/repo/model.gguf'), {
      kind: 'hf',
      user: 'user',
      repo: 'repo',
      file: 'model.gguf',
      quant: null,
      branch: null,
      source: 'hf:user/repo/model.gguf',
    });
  });

  for (const spelling of [
    'hf://user/repo/model.gguf',
    'huggingface:user/repo/model.gguf',
    'huggingface://user/repo/model.gguf',
    'HF:user/repo/model.gguf',
    '  hf:user/repo/model.gguf  ',
  ]) {
    it(`reads ${JSON.stringify(spelling)} as the same reference as hf:`, () => {
      const ref = hf(spelling);
      assert.equal(ref.source, 'hf:user/repo/model.gguf');
      assert.equal(ref.file, 'model.gguf');
      assert.ok(isRemoteModelRef(spelling));
    });
  }

  it('reads a quantization tag instead of a file', () => {
    const ref = hf('hf:user/repo:Q4_K_M');
    assert.equal(ref.file, null);
    assert.equal(ref.quant, 'Q4_K_M');
    assert.equal(ref.source, 'hf:user/repo:Q4_K_M');
  });

  it('reads a file in a subfolder and a branch', () => {
    const ref = hf('hf:user/repo/sub/dir/model-Q8_0.gguf#main');
    assert.equal(ref.file, 'sub/dir/model-Q8_0.gguf');
    assert.equal(ref.branch, 'main');
    assert.equal(ref.source, 'hf:user/repo/sub/dir/model-Q8_0.gguf#main');
  });

  it('keeps the branch of a quantization tag in the source', () => {
    assert.equal(hf('hf://user/repo:Q8_0#dev').source, 'hf:user/repo:Q8_0#dev');
  });

  for (const bad of ['hf:', 'hf:user', 'hf:user/repo with space', 'hf://', 'huggingface:user', 'hf:user/repo#']) {
    it(`refuses ${JSON.stringify(bad)} with a sentence showing the form`, () => {
      const text = problem(bad);
      assert.match(text, sentence);
      assert.ok(text.includes('hf:user/repo/model.gguf'), text);
      assert.ok(isRemoteModelRef(bad), 'it is still a reference to download, only a wrong one');
    });
  }
});

describe('URL references', () => {
  it('accepts an https URL of a .gguf file, query included', () => {
    const ref = parsed('https://example.com/models/a.gguf?download=true');
    assert.equal(ref.kind, 'url');
    assert.equal(ref.kind === 'url' && ref.url.hostname, 'example.com');
    assert.equal(ref.kind === 'url' && ref.source, 'https://example.com/models/a.gguf?download=true');
  });

  it('accepts http as well as https, and any case of .GGUF', () => {
    assert.equal(parsed('http://localhost:8000/a.gguf').kind, 'url');
    assert.equal(parsed('HTTPS://example.com/A.GGUF').kind, 'url');
    assert.ok(isRemoteModelRef('http://localhost:8000/a.gguf'));
  });

  it('refuses other protocols, naming the one it got', () => {
    const text = problem('ftp://example.com/a.gguf');
    assert.match(text, sentence);
    assert.ok(text.includes('https://') && text.includes('ftp:'), text);
    assert.ok(isRemoteModelRef('ftp://example.com/a.gguf'));
  });

  it('refuses a URL that is not a .gguf file', () => {
    assert.match(problem('https://example.com/a.bin'), sentence);
    assert.match(problem('https://example.com/a.gguf/'), /\.gguf/);
  });

  it('refuses a URL that does not parse', () => {
    assert.match(problem('https://'), /not a valid URL/);
  });
});

describe('local references', () => {
  for (const local of [
    '/models/a.gguf',
    'model.gguf',
    './models/a.gguf',
    '~/models/a.gguf',
    'C:\\models\\a.gguf',
    'file:///models/a.gguf',
    'FILE:///models/a.gguf',
  ]) {
    it(`reads ${JSON.stringify(local)} as a local file, as written`, () => {
      assert.deepEqual(parsed(local), { kind: 'local', text: local });
      assert.equal(isRemoteModelRef(local), false);
    });
  }

  it('trims the setting', () => {
    assert.deepEqual(parsed('  /models/a.gguf\n'), { kind: 'local', text: '/models/a.gguf' });
  });

  for (const empty of ['', '   ']) {
    it(`says ${JSON.stringify(empty)} names no model`, () => {
      assert.match(problem(empty), sentence);
      assert.equal(isRemoteModelRef(empty), false);
    });
  }
});

// Select Model's "Download from Hugging Face…" box takes remote references only: one that is
// not remote is refused there (it is the file dialog's job), a remote one must parse.
describe('a model to download, as Select Model checks it', () => {
  const downloadable = (text: string): boolean => isRemoteModelRef(text) && parseModelRef(text).ok;

  for (const ok of [
    'hf:user/repo/model.gguf',
    'hf:user/repo:Q4_K_M',
    'hf:user/repo/sub/dir/model-Q8_0.gguf#main',
    'hf://user/repo/model.gguf',
    'huggingface:user/repo/model.gguf',
    'https://example.com/models/a.gguf?download=true',
    'http://example.com/a.gguf',
  ]) {
    it(`accepts ${ok}`, () => assert.ok(downloadable(ok)));
  }
  for (const bad of [
    '',
    '   ',
    'hf:',
    'hf:user',
    'hf:user/repo with space',
    'ftp://example.com/a.gguf',
    'https://example.com/a.bin',
    'model.gguf',
    'file:///models/a.gguf',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.equal(downloadable(bad), false);
      const result = parseModelRef(bad);
      if (!result.ok) assert.match(result.problem, sentence);
    });
  }
});
