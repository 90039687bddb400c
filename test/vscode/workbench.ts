// What a user does and sees in the workbench page, in words a test can read.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { resultsDir } from './paths';

const isMac = process.platform === 'darwin';
const mod = isMac ? 'Meta' : 'Control';

/** Waits until the workbench has rendered its status bar and the extension host has started. */
export async function waitForWorkbench(page: Page, timeoutMs = 90_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('#workbench\\.parts\\.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Saves a PNG of the page under test-results/<folder>/<name>.png and returns its path. */
export async function screenshot(page: Page, folder: string, name: string): Promise<string> {
  const dir = path.join(resultsDir, folder);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** A status bar entry whose text or accessible label contains `label`. */
export function statusItem(page: Page, label: string | RegExp): Locator {
  const items = page.locator('#workbench\\.parts\\.statusbar .statusbar-item');
  return items.filter({ has: page.locator('a, .statusbar-item-label', { hasText: label }) }).first();
}

export async function statusText(item: Locator): Promise<string> {
  return ((await item.textContent({ timeout: 2000 })) ?? '').replace(/\s+/g, ' ').trim();
}

/** Hovers an element and returns the text of the hover that opens, then closes it. */
export async function hoverText(page: Page, target: Locator, timeoutMs = 10_000): Promise<string> {
  await page.mouse.move(0, 0);
  await target.hover();
  const hover = page.locator('.workbench-hover, .monaco-hover:not(.hidden)').filter({ hasText: /\S/ }).last();
  await hover.waitFor({ state: 'visible', timeout: timeoutMs });
  const text = ((await hover.innerText()) ?? '').trim();
  await page.mouse.move(0, 0);
  await page.keyboard.press('Escape');
  return text;
}

/** Runs a command by its title from the command palette. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

/** Opens a workspace file through Quick Open and waits for its editor to take the focus. */
export async function openFile(page: Page, fileName: string): Promise<Locator> {
  await page.keyboard.press(`${mod}+P`);
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(fileName);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: fileName }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.press('Enter');
  const tab = page.locator('.tabs-container .tab.active', { hasText: fileName });
  await tab.waitFor({ state: 'visible', timeout: 15_000 });
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout: 15_000 });
  return editor;
}

/** Puts the cursor at the end of the document in the active editor. */
export async function cursorToEnd(page: Page, editor: Locator): Promise<void> {
  await editor.locator('.view-lines').click();
  await page.keyboard.press(`${mod}+End`);
}

/** The ghost text currently shown in the active editor ('' when none); nbsp read as spaces. */
export async function ghostText(editor: Locator): Promise<string> {
  const parts = await editor.locator('.ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text').allInnerTexts();
  return parts.join('\n').replace(/\u00a0/g, ' ');
}

export async function waitForGhostText(editor: Locator, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await ghostText(editor);
    if (text.trim().length > 0) return text;
    if (Date.now() > deadline) throw new Error(`No ghost text appeared within ${Math.round(timeoutMs / 1000)} s.`);
    await editor.page().waitForTimeout(200);
  }
}

export async function saveActiveEditor(page: Page): Promise<void> {
  await page.keyboard.press(`${mod}+S`);
  await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

/** Texts of the visible notification toasts. */
export async function notifications(page: Page): Promise<string[]> {
  const texts = await page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  return texts.map((t) => t.trim());
}

/**
 * Records every text a status bar entry shows, as it changes, in the page itself, so states
 * that last only a moment (waking) are not missed between two polls.
 */
export async function recordStatusTexts(page: Page, label: string): Promise<void> {
  await page.evaluate((needle) => {
    const w = window as unknown as { __statusTexts?: string[] };
    w.__statusTexts = [];
    const bar = document.getElementById('workbench.parts.statusbar');
    if (!bar) throw new Error('The status bar is not rendered.');
    let last = '';
    const take = (): void => {
      for (const item of Array.from(bar.querySelectorAll('.statusbar-item'))) {
        const text = (item.textContent ?? '').replace(/\s+/g, ' ').trim();
        if (text.includes(needle) && text !== last) {
          last = text;
          w.__statusTexts!.push(text);
        }
      }
    };
    take();
    new MutationObserver(take).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
  }, label);
}

/** Texts recorded since `recordStatusTexts`, oldest first. */
export async function recordedStatusTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __statusTexts?: string[] }).__statusTexts ?? []);
}

export async function clearRecordedStatusTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __statusTexts?: string[] };
    if (w.__statusTexts) w.__statusTexts.length = 0;
  });
}
