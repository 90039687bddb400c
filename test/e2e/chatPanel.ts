// The chat panel is a webview: its page lives in a frame inside a frame of the workbench.
import type { Frame, Page } from 'playwright-core';
import { runCommand } from '../vscode/harness/workbench';

/** Opens the panel with its command and returns the frame that holds the chat page. */
export async function openChatPanel(page: Page, timeoutMs = 30_000): Promise<Frame> {
  await runCommand(page, 'Local LLM: Open Chat');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      // The composer is inert until the page's script has run: a click before that would do nothing.
      const input = await frame.$('#composer:not([inert]) #input').catch(() => null);
      if (input && (await input.isVisible().catch(() => false))) return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`The chat panel did not show its input within ${Math.round(timeoutMs / 1000)} s.`);
}

export interface StreamedTurn {
  /** Distinct non-zero lengths the answer showed while it was streaming, in order. */
  lengths: number[];
  /** Stop was clicked while the answer was streaming. */
  stopClicked: boolean;
  /** The answer's final state: done, stopped or error. */
  state: string;
  finalLength: number;
  note: string;
}

// Runs in the chat page. Watches the newest answer; once it has grown `chunks` times, clicks
// Stop at once, as a user would, with no round trip through the test process in between.
// Kept as source text: tsx adds name helpers to compiled functions, which the page lacks.
const watchAnswerSource = `(chunks) => new Promise((resolve) => {
  const log = document.getElementById('log');
  const stop = document.getElementById('stop');
  const before = log.querySelectorAll('.turn.assistant').length;
  const lengths = [];
  let stopClicked = false;
  function check() {
    const answers = log.querySelectorAll('.turn.assistant');
    if (answers.length <= before) return;
    const turn = answers[answers.length - 1];
    const body = turn.querySelector('.turn-body');
    const length = body ? (body.textContent || '').length : 0;
    if (turn.classList.contains('streaming')) {
      if (length > 0 && lengths[lengths.length - 1] !== length) lengths.push(length);
      if (!stopClicked && lengths.length >= chunks && !stop.hidden) {
        stopClicked = true;
        stop.click();
      }
      return;
    }
    observer.disconnect();
    const state = ['done', 'stopped', 'error'].find((c) => turn.classList.contains(c)) || 'unknown';
    const note = turn.querySelector('.turn-note');
    resolve({ lengths, stopClicked, state, finalLength: length, note: note ? note.textContent : '' });
  }
  const observer = new MutationObserver(check);
  observer.observe(log, { subtree: true, childList: true, characterData: true, attributes: true });
})`;

/** Sends a question from the panel's input and clicks Stop once the answer has streamed a little. */
export async function askAndStop(frame: Frame, question: string, chunksBeforeStop = 2, timeoutMs = 90_000): Promise<StreamedTurn> {
  const watching = frame.evaluate(`(${watchAnswerSource})(${chunksBeforeStop})`) as Promise<StreamedTurn>;
  await frame.locator('#input').fill(question);
  await frame.locator('#input').press('Enter');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`The answer did not end within ${Math.round(timeoutMs / 1000)} s.`)), timeoutMs);
  });
  try {
    return await Promise.race([watching, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The newest answer's text length, as the panel shows it now. */
export async function lastAnswerLength(frame: Frame): Promise<number> {
  const bodies = frame.locator('.turn.assistant .turn-body');
  const count = await bodies.count();
  return count === 0 ? 0 : ((await bodies.nth(count - 1).textContent()) ?? '').length;
}
