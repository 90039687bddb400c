// The extension-host integration suite (test/vscode/suites/, bundled to dist/test/vscode)
// run inside code-server's real extension host, with the repo as the development extension.
// `npm test` builds first; alone: `npm run build && node --import tsx --test test/vscode/integration.test.ts`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { defaultTestsPath, runIntegration } from './harness/runIntegration';

/** The mocha results in the extension host's output, so each counts in npm test's summary. */
function mochaResults(lines: string[]): Array<{ title: string; passed: boolean }> {
  const results: Array<{ title: string; passed: boolean }> = [];
  for (const raw of lines) {
    const line = stripVTControlCharacters(raw).replace(/^\[extension host\]\s*/, '');
    if (/^\d+ (passing|failing|pending)/.test(line)) break;
    const pass = /^\s*✔ (.+?)(?: \(\d+ms\))?$/.exec(line);
    const fail = /^\s*\d+\) (.+)$/.exec(line);
    if (pass) results.push({ title: pass[1], passed: true });
    else if (fail) results.push({ title: fail[1], passed: false });
  }
  return results;
}

test('the integration suite passes inside the real extension host (code-server)', { timeout: 12 * 60_000 }, async (t) => {
  assert.ok(existsSync(defaultTestsPath), `${defaultTestsPath} is missing: the integration suite was not built.`);
  const lines: string[] = [];
  const code = await runIntegration({
    log: (line) => {
      lines.push(line);
      process.stderr.write(line + '\n');
    },
  });
  for (const result of mochaResults(lines)) {
    // The reason goes into the failure itself: a CI log often keeps only its summary.
    const reason = lines.find((l) => l.includes(`FAILED: `) && l.includes(result.title))?.slice(0, 2000) ?? 'see the output above';
    await t.test(result.title, () => assert.ok(result.passed, `${result.title} failed in the extension host: ${reason}`));
  }
  assert.equal(code, 0, `The suite exited with ${code}; its last output:\n${lines.slice(-30).join('\n')}`);
});
