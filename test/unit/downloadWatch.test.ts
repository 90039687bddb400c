// The download worker's rules for what the downloader may write and where (fetchWatch.ts), and the
// names the cache gives its files (fileName.ts): pure, no network.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchWatch, type Answer } from '../../server/src/models/download/fetchWatch';
import { isModelFileName, urlCacheFileName } from '../../server/src/models/download/fileName';

function answer(status: number, url: string, headers: Record<string, string> = {}): Answer {
  return { status, url, headers: { get: (name) => headers[name.toLowerCase()] ?? null } };
}

const file = 'https://cdn.example.com/models/tiny.gguf';

describe('FetchWatch', () => {
  it('lets through a 206 that starts where it was asked to, and a 200 to a request without Range', () => {
    const watch = new FetchWatch();
    assert.deepEqual(watch.answer(0, answer(206, file, { 'content-range': 'bytes 0-99/1000' })), { ok: true });
    assert.deepEqual(watch.answer(500, answer(206, file, { 'content-range': 'bytes 500-999/1000' })), { ok: true });
    assert.deepEqual(watch.answer(null, answer(200, file)), { ok: true });
    assert.deepEqual(watch.answer(0, answer(200, file)), { ok: true }, 'the whole file from byte 0 is what byte 0 asked for');
  });

  it('refuses a part the server did not confirm: a 200 to a later range, a 206 starting elsewhere or saying nothing', () => {
    const watch = new FetchWatch();
    for (const [from, res] of [
      [500, answer(200, file)],
      [500, answer(206, file, { 'content-range': 'bytes 0-499/1000' })],
      [500, answer(206, file)],
      [null, answer(206, file, { 'content-range': 'bytes 500-999/1000' })],
      [500, answer(206, file, { 'content-range': 'bytes 500-999' })],
    ] as const) {
      const verdict = watch.answer(from, res);
      assert.equal(verdict.ok, false, JSON.stringify([from, res.status]));
      if (!verdict.ok) assert.deepEqual(verdict.reason, { kind: 'rangeIgnored', host: 'cdn.example.com' });
    }
  });

  it('lets the downloader read one whole-file answer per URL: a second would be written after a cut stream', () => {
    const watch = new FetchWatch();
    assert.deepEqual(watch.readWhole(file), { ok: true });
    assert.deepEqual(watch.readWhole('https://cdn.example.com/manifest.json'), { ok: true }, 'another URL is another answer');
    const again = watch.readWhole(file);
    assert.equal(again.ok, false);
    if (!again.ok) assert.deepEqual(again.reason, { kind: 'cutWithoutRanges', host: 'cdn.example.com' });
  });

  it('notes plain-http hosts off this machine, and after the confirmation refuses one it has not seen', () => {
    const watch = new FetchWatch();
    watch.answer(null, answer(200, 'http://127.0.0.1:8080/tiny.gguf'));
    watch.answer(null, answer(200, file));
    assert.deepEqual(watch.plainHttpHosts, [], 'loopback and https are not asked about');
    watch.answer(null, answer(200, 'http://mirror.example.com:8080/tiny.gguf'));
    assert.deepEqual(watch.plainHttpHosts, ['mirror.example.com:8080']);
    watch.confirmPlainHttp(['probe.example.com']);
    assert.deepEqual(watch.answer(0, answer(206, 'http://mirror.example.com:8080/tiny.gguf', { 'content-range': 'bytes 0-9/10' })), {
      ok: true,
    });
    assert.deepEqual(watch.answer(null, answer(200, 'http://probe.example.com/tiny.gguf')), { ok: true });
    const unasked = watch.answer(null, answer(200, 'http://other.example.com/tiny.gguf'));
    assert.equal(unasked.ok, false);
    if (!unasked.ok) assert.deepEqual(unasked.reason, { kind: 'plainHttpHop', host: 'other.example.com' });
  });
});

describe('cache file names', () => {
  it('names a URL download after its last path segment, with a tag of the whole URL', () => {
    const name = urlCacheFileName(new URL('https://example.com/a/Tiny-Coder.Q8_0.gguf'));
    assert.match(name, /^Tiny-Coder\.Q8_0-[0-9a-f]{8}\.gguf$/);
    assert.equal(urlCacheFileName(new URL('https://example.com/a/Tiny-Coder.Q8_0.gguf#sha256=00')), name, 'the fragment is not part of it');
    assert.notEqual(urlCacheFileName(new URL('https://example.com/b/Tiny-Coder.Q8_0.gguf')), name, 'another URL, another file');
  });

  it('never gives a name that is hidden, has a folder, or is not a .gguf', () => {
    for (const url of [
      'https://example.com/.gguf',
      'https://example.com/..%2F..%2Findex.json%00.gguf',
      'https://example.com/%2e%2edownload.lock.gguf',
      'https://example.com/a%5Cb%2Fc.GGUF',
      'https://example.com/%E2%9C%93%20model.gguf',
      'https://example.com/%zz.gguf',
      `https://example.com/${'x'.repeat(400)}.gguf`,
    ]) {
      const name = urlCacheFileName(new URL(url));
      assert.ok(isModelFileName(name), `${url} -> ${name}`);
      assert.match(name, /^[\w.-]+\.gguf$/, name);
    }
  });

  it('takes only plain .gguf names as model files', () => {
    for (const name of ['model.gguf', 'hf_user_model-Q4_K_M.gguf', 'A.GGUF']) assert.equal(isModelFileName(name), true, name);
    for (const name of ['index.json', '.download.lock', 'model.gguf.ipull', '.gguf', '.hidden.gguf', 'sub/model.gguf', 'a\\b.gguf', ''])
      assert.equal(isModelFileName(name), false, name);
  });
});
