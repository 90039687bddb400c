// One real workbench for the whole UI suite: the packaged .vsix installed into a fresh profile,
// the generated tiny model, code-server on 127.0.0.1, and Debian's Chromium looking at it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/dev/browser';
import { packageVsix } from '../../scripts/dev/build';
import { installExtension, startCodeServer, type RunningCodeServer } from '../../scripts/dev/codeServer';
import { repoRoot } from '../../scripts/dev/paths';
import { createProfile, quietWorkbenchSettings, writeUserSettings, type Profile } from '../../scripts/dev/profile';
import { tinyModelPath } from '../../scripts/dev/tinyModel';
import { copyWorkspace } from '../../scripts/dev/workspace';
import { editSettings, recordStatusTexts, screenshot, waitForWorkbench } from '../vscode/harness/workbench';

export interface UiSession {
  page: Page;
  profile: Profile;
  server: RunningCodeServer;
  workspace: string;
  model: string;
  /** The extension's status bar item. */
  status: Locator;
  statusId: string;
  shot(name: string): Promise<string>;
  /** Edits the user settings in the workbench's settings.json editor, as a user would. */
  setSettings(patch: Readonly<Record<string, unknown>>): Promise<void>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Extra user settings on top of the quiet workbench ones and the tiny model. */
  settings: Readonly<Record<string, unknown>>;
  log: (line: string) => void;
}

/** The status item's DOM id: `<publisher>.<name>.<item id>`. */
function statusItemId(): string {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { publisher: string; name: string };
  return `${manifest.publisher}.${manifest.name}.localLlm.status`;
}

export async function openSession({ settings, log }: SessionOptions): Promise<UiSession> {
  const t0 = Date.now();
  const lap = (what: string): void => log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);
  // LOCAL_LLM_VSIX skips packaging when iterating on the tests themselves.
  const prebuilt = process.env.LOCAL_LLM_VSIX;
  const [vsix, model] = await Promise.all([prebuilt ? Promise.resolve(path.resolve(prebuilt)) : packageVsix(), tinyModelPath()]);
  lap(`packaged ${path.relative(repoRoot, vsix)}; model ${model}`);

  const profile = createProfile('e2e');
  let server: RunningCodeServer | undefined;
  let browser: Browser | undefined;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await browser?.close().catch(() => undefined);
      await server?.stop();
      if (!process.env.LOCAL_LLM_KEEP_PROFILE) profile.dispose();
    })());
  try {
    writeUserSettings(profile, { ...quietWorkbenchSettings, 'localLlm.model': model, ...settings });
    await installExtension(profile, vsix);
    lap('installed the .vsix');
    const workspace = copyWorkspace(undefined, path.join(profile.root, 'workspace'));
    server = await startCodeServer({ profile, workspace });
    lap(`code-server at ${server.baseUrl} (process group ${server.pgid})`);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server.baseUrl);
    await waitForWorkbench(page);
    lap('workbench rendered');
    const statusId = statusItemId();
    const status = page.locator(`[id="${statusId}"]`);
    await status.waitFor({ state: 'visible', timeout: 90_000 });
    lap('status item shown');
    await recordStatusTexts(page, statusId);
    const live = server;
    return {
      page,
      profile,
      server: live,
      workspace,
      model,
      status,
      statusId,
      shot: (name) => screenshot(page, 'e2e', name),
      setSettings: (patch) => editSettings(page, profile, patch),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
