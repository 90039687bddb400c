// `npm start -- --demo` on a machine with no desktop VS Code: it serves code-server on
// 127.0.0.1 with the extension active on the tiny model, prints the URL, and on Ctrl-C stops
// code-server's whole process group and exits cleanly.
// Alone: `node --import tsx --test test/e2e/start.test.ts`.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../scripts/dev/browser';
import { repoRoot } from '../../scripts/dev/paths';
import { isGroupAlive } from '../../scripts/dev/processGroup';
import { screenshot, waitForStatusText, waitForWorkbench } from '../vscode/harness/workbench';

interface Started {
  url: string;
  pgid: number;
}

function waitForUrl(child: ChildProcess, output: () => string, timeoutMs: number): Promise<Started> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within ${timeoutMs / 1000} s:\n${output()}`)), timeoutMs);
    const check = (): void => {
      const url = output().match(/running in VS Code at (http:\/\/127\.0\.0\.1:\d+\/\S*)/)?.[1];
      const pgid = output().match(/code-server process group (\d+)/)?.[1];
      if (url && pgid) {
        clearTimeout(timer);
        resolve({ url, pgid: Number(pgid) });
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before serving:\n${output()}`));
    });
  });
}

test('npm start -- --demo serves a workbench with the extension active, and Ctrl-C stops it all', { timeout: 8 * 60_000 }, async () => {
  // No `code` on this PATH is assumed by the test only through --code-server.
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs'), '--demo', '--code-server'], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let started: Started | undefined;
  let browser: Browser | undefined;
  try {
    started = await waitForUrl(child, () => output, 6 * 60_000);
    assert.match(output, /tiny demo model/, 'it says which model it uses');
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(started.url);
    await waitForWorkbench(page);
    const status = page.locator('[id$=".localLlm.status"]');
    await status.waitFor({ state: 'visible', timeout: 90_000 });
    await waitForStatusText(status, /LLM ready/, 90_000);
    await screenshot(page, 'e2e', 'start-demo');
    await browser.close();
    browser = undefined;

    process.kill(child.pid!, 'SIGINT');
    const code = await exited;
    assert.equal(code, 0, `npm start should exit cleanly on Ctrl-C:\n${output}`);
    assert.match(output, /Stopped\./);
    // Killed members linger as zombies for a moment until they are reaped.
    const deadline = Date.now() + 10_000;
    while (isGroupAlive(started.pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(isGroupAlive(started.pgid), false, "no process of code-server's group is left");
  } finally {
    await browser?.close().catch(() => undefined);
    for (const pgid of [child.pid, started?.pgid]) {
      if (pgid !== undefined && isGroupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    }
  }
});

// No desktop VS Code can run here, so this one checks only what npm start hands to the `code`
// CLI: a stand-in `code` on the PATH records its arguments.
test(
  'with a desktop `code` on the PATH, npm start -- --demo opens it with the extension in development mode',
  { timeout: 3 * 60_000 },
  () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'local-llm-fake-code-'));
    try {
      const record = path.join(bin, 'args.json');
      writeFileSync(
        path.join(bin, 'code'),
        `#!/bin/sh\nexec "${process.execPath}" -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))' "${record}" "$@"\n`,
      );
      chmodSync(path.join(bin, 'code'), 0o755);
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs'), '--demo'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const args = JSON.parse(readFileSync(record, 'utf8')) as string[];
      assert.ok(args.includes(`--extensionDevelopmentPath=${repoRoot}`), JSON.stringify(args));
      const workspace = args[args.length - 1]!;
      // The model setting is machine-scoped, so it goes into a profile's user settings, not the workspace's.
      const userDataDir = args.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
      assert.ok(userDataDir, `a profile of its own: ${JSON.stringify(args)}`);
      const settings = JSON.parse(readFileSync(path.join(userDataDir, 'User', 'settings.json'), 'utf8')) as Record<string, unknown>;
      assert.match(String(settings['localLlm.model']), /tiny-random.*\.gguf$/, 'the demo model is set in the user settings');
      assert.equal(existsSync(path.join(workspace, '.vscode', 'settings.json')), false, 'nothing is written where VS Code would ignore it');
      assert.ok(readFileSync(path.join(workspace, 'primes.py'), 'utf8').length > 0, 'the sample workspace is there');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  },
);
