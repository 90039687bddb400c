// localLlm.engine and localLlm.remote.*: what is accepted, what is refused in a sentence, and
// which of them only the user (never a workspace) may set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineProblem, isRemoteEngine, machineScopedKeys, needsReload, normalizeSettings } from '../../server/src/shared/settings';

describe('engine setting', () => {
  it('accepts local and http(s) URLs, without a trailing slash', () => {
    assert.equal(normalizeSettings({ engine: 'local' }).settings.engine, 'local');
    assert.equal(normalizeSettings({ engine: ' LOCAL ' }).settings.engine, 'local');
    assert.equal(normalizeSettings({ engine: 'http://127.0.0.1:8080/' }).settings.engine, 'http://127.0.0.1:8080');
    assert.equal(normalizeSettings({ engine: 'https://gpu.example:8443/llama/' }).settings.engine, 'https://gpu.example:8443/llama');
    assert.ok(isRemoteEngine(normalizeSettings({ engine: 'http://[::1]:8080' }).settings));
  });

  it('refuses other values in a sentence and falls back to local', () => {
    for (const bad of ['ftp://host/', 'not a url', 42, 'http://user:secret@host:8080']) {
      const { settings, problems } = normalizeSettings({ engine: bad });
      assert.equal(settings.engine, 'local');
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^localLlm\.engine must be "local" or the http\(s\) URL of a model server/);
    }
    assert.match(engineProblem('http://user:pw@h')!, /Set Server API Key/);
  });

  it('reads remote.* with defaults and bounds', () => {
    const { settings, problems } = normalizeSettings({ remote: { kind: 'ollama', controlSleep: true, timeoutMs: 5000, model: ' qwen ' } });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings.remote, {
      kind: 'ollama',
      controlSleep: true,
      timeoutMs: 5000,
      wakeTimeoutMs: 300_000,
      model: 'qwen',
      chatModel: '',
    });
    const bad = normalizeSettings({ 'remote.kind': 'tgi', 'remote.timeoutMs': 0 });
    assert.equal(bad.settings.remote.kind, 'auto');
    assert.equal(bad.settings.remote.timeoutMs, 30_000);
    assert.equal(bad.problems.length, 2);
  });

  it('reloads on a change of engine, kind or model, not of timeouts', () => {
    const base = normalizeSettings({}).settings;
    assert.ok(needsReload(base, { ...base, engine: 'http://127.0.0.1:1' }));
    assert.ok(needsReload(base, { ...base, remote: { ...base.remote, kind: 'openai' } }));
    assert.ok(!needsReload(base, { ...base, remote: { ...base.remote, timeoutMs: 1000 } }));
  });

  it('keeps the engine URL and what is done to the server out of workspace hands', () => {
    for (const key of ['engine', 'remote.kind', 'remote.controlSleep', 'remote.model']) {
      assert.ok((machineScopedKeys as readonly string[]).includes(key), key);
    }
  });
});
