import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExcludeMatcher } from '../../client/src/context/exclude';
import { defaultSettings } from '../../server/src/shared/settings';

describe('context exclude matching', () => {
  const defaults = new ExcludeMatcher(defaultSettings.context.exclude);

  it('keeps secrets out by default: env files, keys, certificates, credentials, at any depth', () => {
    for (const path of [
      '.env',
      '.env.local',
      'config/.env.production',
      'deploy/certs/server.pem',
      'ssl/site.key',
      'ssl/site.crt',
      'keys/store.p12',
      'android/app/release.keystore',
      'home/.ssh/id_rsa',
      'home/.ssh/id_ed25519.pub',
      '.npmrc',
      'pkg/.netrc',
    ]) {
      assert.ok(defaults.excludes(path), path);
    }
  });

  it('lets ordinary source files through', () => {
    for (const path of ['src/main.ts', 'env.ts', 'docs/environment.md', 'src/keys.ts', 'certs.py', 'README.md'])
      assert.ok(!defaults.excludes(path), path);
  });

  it('ignores case, so KEY.PEM is as excluded as key.pem', () => {
    assert.ok(defaults.excludes('Secrets/SERVER.PEM'));
    assert.ok(defaults.excludes('.ENV'));
  });

  it('applies files.exclude entries set to true, to the file and to everything inside a hidden folder', () => {
    const m = new ExcludeMatcher([], { '**/.git': true, build: true, '**/*.gen.ts': true, '**/shown': false });
    assert.ok(m.excludes('.git/config'));
    assert.ok(m.excludes('sub/.git/HEAD'));
    assert.ok(m.excludes('build/out/app.js'));
    assert.ok(m.excludes('src/api.gen.ts'));
    assert.ok(!m.excludes('src/api.ts'));
    assert.ok(!m.excludes('shown/file.ts'), 'false turns an entry off');
    assert.ok(!m.excludes('src/build/x.ts'), 'a glob without **/ is anchored at the folder root');
  });

  it('does not evaluate files.exclude `when` clauses (they hide build output, not secrets)', () => {
    const m = new ExcludeMatcher([], { '**/*.js': { when: '$(basename).ts' } });
    assert.ok(!m.excludes('src/app.js'));
  });

  it('takes backslashes, a leading ./ and blank patterns in its stride', () => {
    const m = new ExcludeMatcher(['./secret/**', '  ', 'private\\notes.md']);
    assert.ok(m.excludes('secret/a.txt'));
    assert.ok(m.excludes('private/notes.md'));
    assert.ok(m.excludes('private\\notes.md'));
    assert.ok(!m.excludes('public/a.txt'));
  });

  it('excludes a path it cannot name', () => {
    assert.ok(new ExcludeMatcher([]).excludes(''));
  });

  it('matches absolute paths of files outside the workspace by their **/ globs', () => {
    assert.ok(defaults.excludes('home/me/.ssh/id_rsa'));
    assert.ok(!defaults.excludes('usr/lib/node_modules/typescript/lib/lib.dom.d.ts'));
  });
});
