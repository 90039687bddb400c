// The extension-host integration suite (test/integration/, bundled to dist/test/integration)
// run inside code-server's real extension host, with the repo as the development extension.
// `npm test` builds first; alone: `npm run build && node --import tsx --test test/vscode/integration.test.ts`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { defaultTestsPath, runIntegration } from './runIntegration';

test('the integration suite passes inside the real extension host (code-server)', { timeout: 10 * 60_000 }, async () => {
  assert.ok(existsSync(defaultTestsPath), `${defaultTestsPath} is missing: the integration suite was not built.`);
  const lines: string[] = [];
  const code = await runIntegration({
    log: (line) => {
      lines.push(line);
      process.stderr.write(line + '\n');
    },
  });
  assert.equal(code, 0, `The suite exited with ${code}; its last output:\n${lines.slice(-30).join('\n')}`);
});
