// What a user does and sees in the workbench page, in words a test can read.
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { resultsDir } from '../../../scripts/dev/paths';
import { isMachineScoped, type Profile } from '../../../scripts/dev/profile';

const isMac = process.platform === 'darwin';
const mod = isMac ? 'Meta' : 'Control';

/** Waits until the workbench has rendered, status bar included. */
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

/** A status bar entry's text, codicons left out, whitespace folded. */
export async function statusText(item: Locator): Promise<string> {
  return ((await item.textContent({ timeout: 2000 })) ?? '').replace(/\s+/g, ' ').trim();
}

/** Waits until a status bar entry's text matches; returns that text. */
export async function waitForStatusText(item: Locator, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text: string;
  for (;;) {
    text = await statusText(item).catch(() => '');
    if (pattern.test(text)) return text;
    if (Date.now() > deadline)
      throw new Error(`The status item still says "${text}" after ${Math.round(timeoutMs / 1000)} s; expected ${pattern}.`);
    await item.page().waitForTimeout(200);
  }
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

/** Runs a command by its exact title from the command palette, choosing its row by keyboard. */
/** Runs the palette command whose label is `title` (or matches `label`, for labels with a variable tail). */
export async function runCommand(page: Page, title: string, label: RegExp = new RegExp(`^${escapeRegExp(title)}$`)): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const exact = rows.filter({ has: page.locator('.label-name', { hasText: label }) });
  await exact.first().waitFor({ state: 'visible', timeout: 10_000 });
  // Similar titles and recently used commands may rank above it; walk down to the exact one.
  for (let step = 0; step < 15; step++) {
    const focused = rows.and(page.locator('.focused'));
    const focusedLabel = (
      (await focused
        .locator('.label-name')
        .first()
        .textContent({ timeout: 2000 })
        .catch(() => '')) ?? ''
    ).trim();
    if (label.test(focusedLabel)) {
      await page.keyboard.press('Enter');
      await page
        .locator('.quick-input-widget')
        .waitFor({ state: 'hidden', timeout: 10_000 })
        .catch(() => undefined);
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Escape');
  throw new Error(`The command palette did not offer "${title}".`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  // The first line is inline spans inside the cursor's view line; further lines sit in a view zone.
  const inline = await editor.locator('.view-line .ghost-text-decoration, .view-line .ghost-text-decoration-preview').allInnerTexts();
  const below = await editor.locator('.view-zones .ghost-text').allInnerTexts();
  return [inline.join(''), ...below]
    .filter((t) => t.length > 0)
    .join('\n')
    .replace(/\u00a0/g, ' ');
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
  await page
    .locator('.tabs-container .tab.active.dirty')
    .waitFor({ state: 'detached', timeout: 10_000 })
    .catch(() => undefined);
}

// Kept as source text: tsx adds name helpers to compiled functions, which do not exist in the page.
const statusRecorderSource = `(itemId) => {
  window.__statusTexts = [];
  const bar = document.getElementById('workbench.parts.statusbar');
  if (!bar) throw new Error('The status bar is not rendered.');
  let last = null;
  function take() {
    const item = document.getElementById(itemId);
    const text = item ? (item.textContent || '').replace(/\\s+/g, ' ').trim() : '';
    if (text !== last) {
      last = text;
      window.__statusTexts.push(text);
    }
  }
  take();
  new MutationObserver(take).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
}`;

/**
 * Records every text the status bar entry with this DOM id shows, as it changes, in the page
 * itself, so states that last only a moment (waking) are not missed between two polls.
 */
export async function recordStatusTexts(page: Page, itemId: string): Promise<void> {
  await page.evaluate(`(${statusRecorderSource})(${JSON.stringify(itemId)})`);
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

/**
 * Changes settings the way a user does: machine-scoped ones (the model, the GPU) in the remote
 * machine's settings.json, which is where code-server, a remote window, reads them; the rest in
 * the user's settings.json.
 */
export async function editSettings(page: Page, profile: Profile, patch: Readonly<Record<string, unknown>>): Promise<void> {
  const entries = Object.entries(patch);
  const machine = entries.filter(([key]) => isMachineScoped(key));
  const user = entries.filter(([key]) => !isMachineScoped(key));
  if (user.length) await editSettingsFile(page, ['Preferences: Open User Settings (JSON)'], profile.settingsFile, Object.fromEntries(user));
  if (machine.length) {
    // Its title ends with the remote's name.
    const remote = ['Preferences: Open Remote Settings (JSON)', /^Preferences: Open Remote Settings \(JSON\)/] as const;
    await editSettingsFile(page, remote, profile.machineSettingsFile, Object.fromEntries(machine));
  }
}

/**
 * Edits one settings.json in its editor, saved. (code-server does not notice the file being
 * changed from outside while it runs.) A value of undefined removes the key. Closes the editor
 * again, so the previous one is active.
 */
async function editSettingsFile(
  page: Page,
  command: readonly [string, RegExp?],
  settingsFile: string,
  patch: Readonly<Record<string, unknown>>,
): Promise<void> {
  const current = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  await runCommand(page, ...command);
  const tab = page.locator('.tabs-container .tab.active', { hasText: 'settings.json' });
  await tab.waitFor({ state: 'visible', timeout: 15_000 });
  const editor = page.locator('.editor-group-container.active .monaco-editor').first();
  await editor.locator('.view-lines').click();
  await page.keyboard.press(`${mod}+A`);
  // One line, so no indentation piles up (quietWorkbenchSettings turns auto-closing off).
  const wanted = JSON.stringify(next);
  await page.keyboard.insertText(wanted);
  await saveActiveEditor(page);
  const deadline = Date.now() + 10_000;
  let saved: string;
  while ((saved = readFileSync(settingsFile, 'utf8').trim()) !== wanted && Date.now() < deadline) {
    await page.waitForTimeout(200);
  }
  if (saved !== wanted) throw new Error(`settings.json was saved as ${saved}, not as ${wanted}.`);
  await runCommand(page, 'View: Close Editor');
  await tab.waitFor({ state: 'detached', timeout: 10_000 });
}
