// The chat panel's script (runs in the webview, bundled to dist/media/chat.js). It draws what
// the extension sends and reports what the user does; the extension owns the conversation.
import DOMPurify from 'dompurify';
import { HistoryList } from './history';
import type { ChatSnapshot, ChatTurn, FromWebview, MentionRef, ModelBanner, ToWebview } from './messages';
import { MentionPicker } from './picker';
import { codeBlockInfos, renderMarkdown, sanitizeOptions } from './render';

interface VsCodeApi<S> {
  postMessage(message: FromWebview): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

/** Kept by VS Code while the panel is hidden, so it redraws at once when shown again. */
interface PanelState {
  turns: ChatTurn[];
  draft: string;
  includeContext: boolean;
  chips?: MentionRef[];
}

const vscode = acquireVsCodeApi<PanelState>();

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The chat panel is missing #${id}.`);
  return found as T;
}

const log = element<HTMLDivElement>('log');
const bannerBox = element<HTMLDivElement>('banner');
const input = element<HTMLTextAreaElement>('input');
const sendButton = element<HTMLButtonElement>('send');
const stopButton = element<HTMLButtonElement>('stop');
const newButton = element<HTMLButtonElement>('new-chat');
const contextToggle = element<HTMLInputElement>('include-context');
const contextLabel = element<HTMLSpanElement>('context-label');
const chipsBox = element<HTMLDivElement>('chips');
const notice = element<HTMLDivElement>('notice');

const saved = vscode.getState();
let turns: ChatTurn[] = saved?.turns ?? [];
let busy = false;
let chips: MentionRef[] = saved?.chips ?? [];
input.value = saved?.draft ?? '';
contextToggle.checked = saved?.includeContext ?? false;

function saveState(): void {
  vscode.setState({ turns, draft: input.value, includeContext: contextToggle.checked, chips });
}

function post(message: FromWebview): void {
  vscode.postMessage(message);
}

function drawChips(): void {
  chipsBox.hidden = chips.length === 0;
  chipsBox.replaceChildren(
    ...chips.map((chip, index) => {
      const box = document.createElement('span');
      box.className = 'chip';
      box.title = chip.uri ?? chip.label;
      const label = document.createElement('span');
      label.textContent = `@${chip.label}`;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'chip-remove';
      remove.dataset.index = String(index);
      remove.setAttribute('aria-label', `Remove ${chip.label}`);
      remove.textContent = '×';
      box.append(label, remove);
      return box;
    }),
  );
}

/** The question being written, for the model to read ahead (the extension waits for a pause). */
function postDraft(): void {
  post({ type: 'draft', text: input.value.trim(), mentions: chips });
}

function addChip(ref: MentionRef): void {
  const same = chips.some((c) => c.kind === ref.kind && c.label === ref.label && c.uri === ref.uri);
  if (!same) chips.push(ref);
  drawChips();
  saveState();
  postDraft();
}

function showNotice(text: string | null): void {
  notice.hidden = text === null;
  notice.textContent = text ?? '';
}

const picker = new MentionPicker(input, element<HTMLUListElement>('picker'), post, addChip, saveState);
const history = new HistoryList(
  element<HTMLDivElement>('history'),
  element<HTMLUListElement>('history-list'),
  element<HTMLDivElement>('history-note'),
  element<HTMLButtonElement>('delete-all'),
  post,
);

/** Markdown -> sanitized nodes, with Copy / Insert / Apply buttons on every code block. */
function renderAnswer(target: HTMLElement, source: string): void {
  const fragment = DOMPurify.sanitize(renderMarkdown(source), { ...sanitizeOptions, RETURN_DOM_FRAGMENT: true });
  const infos = codeBlockInfos(source);
  Array.from(fragment.querySelectorAll('pre')).forEach((pre, index) => {
    const block = document.createElement('div');
    block.className = 'code-block';
    // Set after sanitizing: the info string (a language, maybe the file's path) tells Apply where it goes.
    block.dataset.info = infos[index] ?? '';
    const tools = document.createElement('div');
    tools.className = 'code-tools';
    for (const [action, label, title] of [
      ['copy', 'Copy', 'Copy the code'],
      ['insert', 'Insert at cursor', 'Insert the code at the cursor of the editor'],
      ['apply', 'Apply', 'Review this code as a change to its file, then accept or reject it'],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'code-button';
      button.dataset.action = action;
      button.textContent = label;
      button.title = title;
      tools.append(button);
    }
    pre.replaceWith(block);
    block.append(tools, pre);
  });
  target.replaceChildren(fragment);
}

const fitNames = { whole: '', trimmed: ' (trimmed)', dropped: ' (left out)' } as const;

function turnElement(turn: ChatTurn): HTMLElement {
  let box = log.querySelector<HTMLElement>(`[data-turn="${CSS.escape(turn.id)}"]`);
  if (!box) {
    box = document.createElement('div');
    box.dataset.turn = turn.id;
    log.append(box);
  }
  return box;
}

function drawTurn(turn: ChatTurn): void {
  const box = turnElement(turn);
  box.className = `turn ${turn.role} ${turn.state}`;
  const parts: HTMLElement[] = [];
  const withWhat = [...(turn.mentions ?? []).map((m) => `@${m}`), ...(turn.contextLabel ? [turn.contextLabel] : [])];
  if (withWhat.length) {
    const ctx = document.createElement('div');
    ctx.className = 'turn-context';
    ctx.textContent = `with ${withWhat.join(', ')}`;
    parts.push(ctx);
  }
  const body = document.createElement('div');
  body.className = 'turn-body';
  if (turn.role === 'user') body.textContent = turn.text;
  else renderAnswer(body, turn.text);
  parts.push(body);
  if (turn.included?.length) {
    const included = document.createElement('div');
    included.className = 'turn-included';
    included.textContent = `Included: ${turn.included.map((p) => `${p.label}${fitNames[p.fit]}`).join(', ')}`;
    parts.push(included);
  }
  for (const text of turn.notes ?? []) parts.push(note(text));
  if (turn.state === 'stopped') parts.push(note('Stopped.'));
  if (turn.state === 'error') parts.push(note(turn.error ?? 'The answer failed.'));
  box.replaceChildren(...parts);
}

function note(text: string): HTMLElement {
  const p = document.createElement('div');
  p.className = 'turn-note';
  p.textContent = text;
  return p;
}

function nearBottom(): boolean {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
}

function redrawAll(): void {
  log.replaceChildren();
  for (const turn of turns) drawTurn(turn);
  log.scrollTop = log.scrollHeight;
}

// Streaming: chunks only mark the turn dirty; it is redrawn once per frame.
const dirty = new Set<string>();
let frameRequested = false;
function scheduleDraw(turnId: string): void {
  dirty.add(turnId);
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const stick = nearBottom();
    for (const id of dirty) {
      const turn = turns.find((t) => t.id === id);
      if (turn) drawTurn(turn);
    }
    dirty.clear();
    if (stick) log.scrollTop = log.scrollHeight;
    saveState();
  });
}

function drawBanner(banner: ModelBanner | null): void {
  bannerBox.hidden = banner === null;
  if (!banner) return bannerBox.replaceChildren();
  bannerBox.className = `banner ${banner.tone}`;
  const text = document.createElement('span');
  text.textContent = banner.text;
  const parts: HTMLElement[] = [text];
  if (banner.action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = banner.action.label;
    const message = banner.action.message;
    button.addEventListener('click', () => post({ type: message }));
    parts.push(button);
  }
  bannerBox.replaceChildren(...parts);
}

function setBusy(value: boolean): void {
  busy = value;
  sendButton.disabled = busy;
  stopButton.hidden = !busy;
  sendButton.hidden = busy;
}

function setContextLabel(label: string | null): void {
  contextLabel.textContent = label ?? 'no editor open';
  contextToggle.disabled = label === null;
}

function applySnapshot(snapshot: ChatSnapshot): void {
  turns = snapshot.turns;
  contextToggle.checked = snapshot.includeContext;
  setContextLabel(snapshot.contextLabel);
  drawBanner(snapshot.banner);
  setBusy(snapshot.busy);
  redrawAll();
  saveState();
}

function upsertTurn(turn: ChatTurn): void {
  const index = turns.findIndex((t) => t.id === turn.id);
  if (index >= 0) turns[index] = turn;
  else turns.push(turn);
  scheduleDraw(turn.id);
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'snapshot':
      return applySnapshot(message.snapshot);
    case 'turn':
      return upsertTurn(message.turn);
    case 'chunk': {
      const turn = turns.find((t) => t.id === message.turnId);
      if (!turn) return;
      turn.text += message.text;
      return scheduleDraw(turn.id);
    }
    case 'cleared':
      turns = [];
      redrawAll();
      return saveState();
    case 'busy':
      return setBusy(message.busy);
    case 'banner':
      return drawBanner(message.banner);
    case 'contextLabel':
      return setContextLabel(message.label);
    case 'mentionCandidates':
      return picker.candidates(message.id, message.items);
    case 'refused':
      // The message was not sent: it goes back to the input, with why.
      input.value = message.text;
      chips = message.mentions;
      drawChips();
      showNotice(message.message);
      return saveState();
    case 'chats':
      return history.draw(message.chats, message.note);
  }
});

function send(): void {
  const text = input.value.trim();
  if ((text === '' && chips.length === 0) || busy) return;
  post({ type: 'send', text, mentions: chips });
  input.value = '';
  chips = [];
  drawChips();
  showNotice(null);
  picker.close();
  saveState();
}

sendButton.addEventListener('click', send);
stopButton.addEventListener('click', () => post({ type: 'stop' }));
newButton.addEventListener('click', () => post({ type: 'newChat' }));
contextToggle.addEventListener('change', () => {
  post({ type: 'setIncludeContext', value: contextToggle.checked });
  saveState();
  // The draft's prompt now has the editor's context, or not.
  postDraft();
});
element<HTMLButtonElement>('open-history').addEventListener('click', () => (history.shown ? history.hide() : history.show()));
element<HTMLButtonElement>('close-history').addEventListener('click', () => history.hide());
chipsBox.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.chip-remove');
  if (!button) return;
  chips.splice(Number(button.dataset.index), 1);
  drawChips();
  saveState();
  postDraft();
});
input.addEventListener('keydown', (event) => {
  if (!event.isComposing && picker.key(event)) {
    event.preventDefault();
    return;
  }
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
input.addEventListener('input', () => {
  picker.update();
  saveState();
  postDraft();
});
// The caret moved without typing: the mention under it may have changed.
input.addEventListener('click', () => picker.update());
input.addEventListener('keyup', (event) => {
  if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) picker.update();
});
input.addEventListener('blur', () => picker.close());
log.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.code-button');
  const block = button?.closest<HTMLElement>('.code-block');
  const code = block?.querySelector('code');
  if (!button || !block || !code) return;
  const text = code.textContent ?? '';
  const turnId = button.closest<HTMLElement>('[data-turn]')?.dataset.turn ?? '';
  if (button.dataset.action === 'apply') post({ type: 'apply', turnId, text, info: block.dataset.info ?? '' });
  else post(button.dataset.action === 'insert' ? { type: 'insert', text } : { type: 'copy', text });
});

drawChips();
redrawAll();
setBusy(false);
// Inert in the page's HTML, so nothing typed or clicked before this script ran is lost.
element<HTMLDivElement>('composer').inert = false;
post({ type: 'ready' });
