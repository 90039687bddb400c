// What a user sees, in a real VS Code workbench (code-server 4.100.3 driven by Chromium): the
// packaged .vsix on the generated tiny model. Eight steps in order, each leaving a screenshot
// under test-results/e2e/. Random weights: the text is noise, so the steps check states, what
// is shown, what lands in the document, and the model process; never the words, never timings.
// Alone: `npm run build && node --import tsx --test test/e2e/ui.test.ts`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Frame, Locator } from 'playwright-core';
import {
  clearRecordedStatusTexts,
  cursorToEnd,
  ghostText,
  hoverText,
  openFile,
  recordedStatusTexts,
  runCommand,
  saveActiveEditor,
  statusText,
  waitForGhostText,
  waitForStatusText,
  waitForWorkbench,
} from '../vscode/harness/workbench';
import { askAndStop, lastAnswerLength, openChatPanel } from './chatPanel';
import { modelHoldersAfterSleep, modelHostPids, modelHostsAfterExit } from './modelHost';
import { openSession, type UiSession } from './session';
import { errorMessage } from '../../server/src/shared/errors';

const idleSeconds = 6;
/** Slack for a loaded 2-core machine on top of the idle time; generous on purpose. */
const sleepMarginSeconds = 45;
// Python: no language server of its own to compete for the CPU with the model.
const sampleFile = 'primes.py';

const ready = /LLM ready|LLM generating/;
const asleep = /LLM asleep/;
const waking = /LLM waking/;

const compact = (text: string): string => text.replace(/\s+/g, '');

/** Opens the chat panel's History, waits for a kept chat titled by `question`, and closes it again. */
async function keptChatListed(chat: Frame, question: string, when: string): Promise<void> {
  await chat.locator('#open-history').click();
  const kept = chat.locator('#history-list li', { hasText: question });
  try {
    await kept.first().waitFor({ state: 'visible', timeout: 30_000 });
  } catch {
    const listed = await chat
      .locator('#history')
      .innerText()
      .catch((err: unknown) => String(err));
    assert.fail(`History does not list the chat "${question}" ${when}; it shows: ${listed}`);
  }
  await chat.locator('#close-history').click();
}

/** Reads until `done` holds or `timeoutMs` passes, and returns the last value read (the caller asserts on it). */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function log(line: string): void {
  process.stderr.write(line + '\n');
}

describe('Local LLM in a real VS Code workbench', { timeout: 12 * 60_000 }, () => {
  let s: UiSession;
  let editor: Locator;
  let chat: Frame;

  before(
    async () => {
      s = await openSession({
        log,
        settings: {
          'localLlm.sleepIdleSeconds': idleSeconds,
          'localLlm.sleepMode': 'deep',
          // With the default (on), the keystroke's activity notice would start the wake a moment
          // before the completion request; off, the request itself must find the model asleep.
          'localLlm.wakeOnActivity': false,
        },
      });
    },
    { timeout: 6 * 60_000 },
  );

  after(async () => {
    await s?.close();
  });

  const tooltip = (): Promise<string> => hoverText(s.page, s.status);

  it('1. after opening a workspace file, the status item reaches "ready"', { timeout: 3 * 60_000 }, async () => {
    editor = await openFile(s.page, sampleFile);
    await waitForStatusText(s.status, ready, 120_000);
    await s.shot('01-ready');
    const hover = await tooltip();
    assert.match(hover, /tiny-random/, `the tooltip should name the model: ${hover}`);
  });

  it('2. typing produces ghost text, and Tab inserts it into the document', { timeout: 2 * 60_000 }, async () => {
    const file = path.join(s.workspace, sampleFile);
    const before = readFileSync(file, 'utf8');
    const typed = 'answer = ';
    await cursorToEnd(s.page, editor);
    await s.page.keyboard.type(typed);
    const ghost = await waitForGhostText(editor, 60_000);
    await s.shot('02-ghost-text');
    await s.page.keyboard.press('Tab');
    // What was grey becomes document text: waited for until the accepted ghost is no longer shown as
    // one (a next suggestion may follow it) and the rendered lines hold it.
    const accepted = async (): Promise<{ ghost: string; rendered: string }> => ({
      ghost: await ghostText(editor),
      rendered: (await editor.locator('.view-lines').innerText()).replace(/\u00a0/g, ' '),
    });
    const shown = await pollUntil(accepted, (a) => a.ghost !== ghost && compact(a.rendered).includes(compact(ghost)), 10_000);
    assert.ok(compact(shown.rendered).includes(compact(ghost)), `accepted text ${JSON.stringify(ghost)} not in the editor`);
    await saveActiveEditor(s.page);
    const after = readFileSync(file, 'utf8');
    await s.shot('02-accepted');
    const inserted = after.slice(after.lastIndexOf(typed) + typed.length);
    assert.ok(after.startsWith(before.trimEnd()), 'the document kept its old text');
    assert.ok(after.includes(typed), 'the typed text is in the saved file');
    assert.ok(compact(inserted).length > 0, 'Tab inserted the completion into the saved file');
    if (/^[\x20-\x7e\s]*$/.test(ghost)) assert.ok(compact(after).includes(compact(ghost)), 'the saved file holds the accepted ghost text');
  });

  it('3. with no activity, the status item turns to sleeping and the model host is gone', { timeout: 3 * 60_000 }, async () => {
    const serving = modelHostPids(s.profile.extensionsDir);
    await s.page.mouse.move(5, 5);
    await waitForStatusText(s.status, asleep, (idleSeconds + sleepMarginSeconds) * 1000);
    await s.shot('03-asleep');
    const hover = await tooltip();
    assert.match(hover, /Asleep/, hover);
    assert.match(hover, /no model process/, `deep sleep: the tooltip should say the model process is gone: ${hover}`);
    assert.match(hover, /Deep sleep keeps 0 MB of VRAM/, `the tooltip says what the sleep keeps: ${hover}`);
    assert.deepEqual(
      await modelHoldersAfterSleep(s.profile.extensionsDir, serving),
      [],
      'deep sleep ends the model host process; a standby left holds no model',
    );
  });

  it('4. typing again shows "waking", then ghost text: the completion asked during sleep is served', { timeout: 3 * 60_000 }, async () => {
    await clearRecordedStatusTexts(s.page);
    assert.match(await waitForStatusText(s.status, asleep, 1000), asleep);
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.type('more = ');
    // No key is pressed after this: ghost text can only come from a request made while asleep.
    const ghost = await waitForGhostText(editor, 90_000);
    const hosts = modelHostPids(s.profile.extensionsDir);
    await s.shot('04-woken-ghost-text');
    const seen = await recordedStatusTexts(s.page);
    const wakingAt = seen.findIndex((t) => waking.test(t));
    assert.ok(wakingAt >= 0, `the status item never said waking: ${JSON.stringify(seen)}`);
    assert.ok(
      seen.slice(wakingAt).some((t) => ready.test(t)),
      `no ready after waking: ${JSON.stringify(seen)}`,
    );
    assert.ok(ghost.trim().length > 0);
    assert.ok(hosts.length > 0, 'the wake started a model host again');
    await s.page.keyboard.press('Escape');
  });

  it('5. "Local LLM: Sleep Now" from the command palette puts it to sleep', { timeout: 2 * 60_000 }, async () => {
    // From here on only the user puts it to sleep: idle sleep off, wake on activity back on.
    await s.setSettings({ 'localLlm.sleepIdleSeconds': 0, 'localLlm.wakeOnActivity': true });
    const deadline = Date.now() + 60_000;
    let hover = '';
    while (!/Idle sleep is off/.test(hover) && Date.now() < deadline) {
      // It may have gone to sleep on the old idle time meanwhile.
      if (asleep.test(await statusText(s.status))) await runCommand(s.page, 'Local LLM: Wake Up');
      await waitForStatusText(s.status, ready, 60_000);
      hover = await tooltip();
    }
    assert.match(hover, /Idle sleep is off/, 'the new sleepIdleSeconds reached the server');
    const serving = modelHostPids(s.profile.extensionsDir);
    await runCommand(s.page, 'Local LLM: Sleep Now');
    await waitForStatusText(s.status, asleep, 30_000);
    await s.shot('05-sleep-now');
    assert.deepEqual(await modelHoldersAfterSleep(s.profile.extensionsDir, serving), [], 'Sleep Now ends the model host process');
  });

  it('6. clicking the sleeping status item wakes it', { timeout: 2 * 60_000 }, async () => {
    await clearRecordedStatusTexts(s.page);
    await s.status.click();
    await waitForStatusText(s.status, ready, 60_000);
    await s.shot('06-woken-by-click');
    const seen = await recordedStatusTexts(s.page);
    assert.ok(
      seen.some((t) => waking.test(t)),
      `the click should show waking: ${JSON.stringify(seen)}`,
    );
    assert.ok(modelHostPids(s.profile.extensionsDir).length > 0, 'the model host runs again');
  });

  it('7. the chat panel opens, a question streams an answer, and Stop stops it', { timeout: 3 * 60_000 }, async () => {
    chat = await openChatPanel(s.page);
    await s.shot('07-chat-open');
    // A fast model may finish an answer before Stop lands; ask again a few times.
    let turn = await askAndStop(chat, 'Write a long story about a lighthouse keeper.');
    for (let attempt = 1; attempt < 4 && turn.state === 'done'; attempt++) {
      log(`[e2e] the answer ended (${turn.finalLength} chars) before Stop acted; asking again`);
      turn = await askAndStop(chat, `Tell me another long story, number ${attempt + 1}.`);
    }
    await s.shot('07-chat-stopped');
    assert.ok(turn.lengths.length >= 2, `the answer should stream in pieces; saw lengths ${JSON.stringify(turn.lengths)}`);
    assert.ok(turn.stopClicked, 'Stop was shown and clicked while streaming');
    assert.equal(turn.state, 'stopped', `after Stop the answer should be stopped, not ${turn.state} (${turn.note})`);
    assert.equal(await chat.locator('#stop').isHidden(), true, 'Stop is hidden once stopped');
    assert.equal(await chat.locator('#send').isVisible(), true, 'Send is back');
    const length = await lastAnswerLength(chat);
    await s.page.waitForTimeout(1500);
    assert.equal(await lastAnswerLength(chat), length, 'a stopped answer does not grow');
  });

  it(
    "8. a missing model file shows the error with the server's sentence; choosing a valid model recovers",
    { timeout: 3 * 60_000 },
    async () => {
      // Typing in settings.json may itself ask for a completion and wake the model; either way the
      // server loads the newly chosen local file at once and reports that it is missing.
      await runCommand(s.page, 'Local LLM: Sleep Now');
      await waitForStatusText(s.status, asleep, 30_000);
      const missing = path.join(s.profile.root, 'no-such-dir', 'missing-model.gguf');
      await s.setSettings({ 'localLlm.model': missing });
      const deadline = Date.now() + 60_000;
      let text = await statusText(s.status);
      while (!/LLM error/.test(text) && Date.now() < deadline) {
        await s.page.waitForTimeout(250);
        text = await statusText(s.status);
      }
      assert.match(text, /LLM error/, 'the status item shows the error state');
      await s.shot('08-error');
      const hover = await tooltip();
      assert.match(hover, /missing-model\.gguf/, `the tooltip should carry the server's sentence about the file: ${hover}`);

      await runCommand(s.page, 'Local LLM: Select Model');
      const quickInput = s.page.locator('.quick-input-widget');
      // First the job (#25): one model for completions and chat, as before.
      await quickInput.locator('.monaco-list-row', { hasText: 'Completions and chat' }).click();
      // The list of models is longer than the rows shown (pairs, presets, cached files): filter it.
      await quickInput.locator('.quick-input-title', { hasText: 'Completions and chat' }).waitFor({ timeout: 30_000 });
      await quickInput.locator('input.input').fill('Choose a GGUF file');
      await quickInput.locator('.monaco-list-row', { hasText: 'Choose a GGUF file' }).click();
      // code-server's file dialog is a quick input that takes a typed path, titled as Select Model asks.
      await quickInput.locator('.quick-input-title', { hasText: 'Select a GGUF model file' }).waitFor({ timeout: 30_000 });
      const pathInput = quickInput.locator('input.input');
      // The dialog is ready once it has written the folder it starts in (a path) into the box, which
      // until then still holds the model picker's filter text; a path typed before would be overwritten.
      const startFolder = await pollUntil(
        () => pathInput.inputValue(),
        (value) => value.startsWith('/'),
        30_000,
      );
      assert.ok(startFolder.startsWith('/'), `the file dialog opened with its starting folder, not "${startFolder}"`);
      // What the dialog held when Enter was last pressed, for the failure's message.
      let typed = '';
      let rows: string[] = [];
      // The dialog takes no Enter while it is still reading a folder (busy on a loaded machine), and
      // may write a folder into the box once more: type again if so, and press Enter until it closes.
      for (let attempt = 0; attempt < 5 && (await quickInput.isVisible()); attempt++) {
        if ((await pathInput.inputValue()) !== s.model) await pathInput.fill(s.model);
        // The dialog has taken the typed path once it lists the model's folder with the file in it.
        await quickInput
          .locator('.monaco-list-row', { hasText: path.basename(s.model) })
          .first()
          .waitFor({ timeout: 30_000 });
        typed = await pathInput.inputValue();
        rows = await quickInput.locator('.monaco-list-row').allTextContents();
        await pathInput.press('Enter');
        await quickInput.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      }
      try {
        await waitForStatusText(s.status, ready, 90_000);
      } catch (err) {
        await s.shot('08-not-recovered');
        const written = readFileSync(s.profile.machineSettingsFile, 'utf8');
        assert.fail(
          `${errorMessage(err)} The dialog held "${typed}" with rows ${JSON.stringify(rows)}; the machine settings are ${written}`,
        );
      }
      await s.shot('08-recovered');
      // The model is machine-scoped: in code-server, a remote window, it lives in the machine's settings.
      const settings = JSON.parse(readFileSync(s.profile.machineSettingsFile, 'utf8')) as Record<string, unknown>;
      assert.equal(settings['localLlm.model'], s.model, 'Select Model wrote the chosen file to the settings');
    },
  );

  it(
    '8b. typing @ in the chat offers the workspace files; a picked one is a chip sent with the question, and the chat is listed again after the workbench reloads',
    { timeout: 4 * 60_000 },
    async () => {
      chat = await openChatPanel(s.page);
      await chat.locator('#new-chat').click();
      const input = chat.locator('#input');
      await input.click();
      await input.pressSequentially('@file:prim');
      const option = chat.locator('#picker li', { hasText: 'primes.py' }).first();
      await option.waitFor({ state: 'visible', timeout: 30_000 });
      await input.press('Enter');
      await chat.locator('#chips .chip', { hasText: 'primes.py' }).waitFor({ state: 'visible', timeout: 10_000 });
      await s.shot('08b-mention-chip');
      const question = 'What does the mentioned file compute?';
      const turn = await askAndStop(chat, question, 1);
      assert.ok(['stopped', 'done'].includes(turn.state), `the answer ended (${turn.state}: ${turn.note})`);
      const sent = await chat.locator('.turn.user').last().textContent();
      assert.match(sent ?? '', /primes\.py/, `the question's turn names the mentioned file: ${sent}`);
      // Kept before the reload: the History list names it once its file is written.
      await keptChatListed(chat, question, 'before the reload');

      // A reload is a new workbench: the chat page and the extension host start again.
      await s.page.reload();
      await waitForWorkbench(s.page);
      await s.status.waitFor({ state: 'visible', timeout: 90_000 });
      chat = await openChatPanel(s.page);
      await keptChatListed(chat, question, 'after the reload');
      await s.shot('08b-history-after-reload');
    },
  );

  it('9. closing the workbench leaves no model host behind (no grace period to wait out)', { timeout: 60_000 }, async () => {
    const running = modelHostPids(s.profile.extensionsDir);
    assert.ok(running.length > 0, 'the model host runs before the close');
    await s.close();
    // Well within the 10 s grace a host keeps for a window reload: the last window's close ends it.
    assert.deepEqual(await modelHostsAfterExit(s.profile.extensionsDir, 5000), [], 'the shared model host ended with the workbench');
  });
});
