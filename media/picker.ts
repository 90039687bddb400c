// The @-mention picker under the chat input: typing `@` lists the kinds, fuzzy-filtered as you
// type; a kind that names something (`@file:`, `@symbol:`, `@problems:`) then lists what the
// extension offers for the text after the colon. Arrows move, Enter or Tab picks, Escape closes.
import { fuzzyFilter } from './fuzzy';
import type { FromWebview, MentionCandidate, MentionRef } from './messages';
import { mentionAtCaret, mentionKinds, splitQuery, type MentionKindInfo, type MentionQuery } from './mentions';

interface PickerItem {
  label: string;
  detail: string;
  pick: () => void;
}

/** The chip a kind without a target makes. */
function plainRef(info: MentionKindInfo): MentionRef {
  const labels: Partial<Record<MentionKindInfo['kind'], string>> = { changes: 'uncommitted changes', selection: 'selection' };
  return { kind: info.kind, label: labels[info.kind] ?? info.word };
}

export class MentionPicker {
  private items: PickerItem[] = [];
  private active = 0;
  private query: MentionQuery | null = null;
  private requestId = 0;
  /** Where Escape closed the picker: it stays closed while the caret is in that mention. */
  private dismissedAt: number | null = null;

  constructor(
    private readonly input: HTMLTextAreaElement,
    private readonly list: HTMLUListElement,
    private readonly post: (message: FromWebview) => void,
    private readonly addChip: (ref: MentionRef) => void,
    private readonly changed: () => void,
  ) {
    list.addEventListener('mousedown', (event) => {
      // Keep the focus in the input; pick on the press, before a blur could close the list.
      event.preventDefault();
      const li = (event.target as HTMLElement).closest<HTMLLIElement>('li[data-index]');
      if (li) this.items[Number(li.dataset.index)]?.pick();
    });
  }

  get open(): boolean {
    return !this.list.hidden;
  }

  /** Called after every input and caret move. */
  update(): void {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const query = this.input.selectionStart === this.input.selectionEnd ? mentionAtCaret(this.input.value, caret) : null;
    if (!query || query.start === this.dismissedAt) {
      if (!query) this.dismissedAt = null;
      return this.close();
    }
    this.query = query;
    const { word, target } = splitQuery(query.query);
    if (target === null) {
      const kinds = fuzzyFilter(word, mentionKinds, (k) => k.word);
      return this.show(kinds.map((info) => ({ label: `@${info.word}`, detail: info.detail, pick: () => this.pickKind(info) })));
    }
    const info = mentionKinds.find((k) => k.word === word.toLowerCase());
    if (!info || !info.takesTarget || (info.kind !== 'file' && info.kind !== 'symbol' && info.kind !== 'problems')) return this.close();
    this.requestId++;
    if (info.kind === 'symbol' && target.trim() === '') return this.show([], 'Type part of a name.');
    this.post({ type: 'mentionQuery', id: this.requestId, kind: info.kind, query: target });
  }

  /** The extension's answer to the latest query; older answers are dropped. */
  candidates(id: number, items: MentionCandidate[]): void {
    if (id !== this.requestId || !this.query) return;
    this.show(items.map((c) => ({ label: c.ref.label, detail: c.detail ?? '', pick: () => this.pickRef(c.ref) })));
  }

  /** Keys while the picker is open; true when the picker used the key. */
  key(event: KeyboardEvent): boolean {
    if (!this.open) return false;
    switch (event.key) {
      case 'ArrowDown':
        this.move(1);
        return true;
      case 'ArrowUp':
        this.move(-1);
        return true;
      case 'Enter':
      case 'Tab':
        if (event.shiftKey || this.items.length === 0) return false;
        this.items[this.active]?.pick();
        return true;
      case 'Escape':
        this.dismissedAt = this.query?.start ?? null;
        this.close();
        return true;
      default:
        return false;
    }
  }

  close(): void {
    this.list.hidden = true;
    this.items = [];
    this.query = null;
  }

  private pickKind(info: MentionKindInfo): void {
    if (!info.takesTarget) return this.pickRef(plainRef(info));
    // `@fi` becomes `@file:`, and the second list opens for what follows.
    this.replaceQuery(`@${info.word}:`);
    this.update();
  }

  private pickRef(ref: MentionRef): void {
    this.replaceQuery('');
    this.addChip(ref);
    this.close();
  }

  /** Puts `text` where the mention being typed is, with the caret after it. */
  private replaceQuery(text: string): void {
    const q = this.query;
    if (!q) return;
    const before = this.input.value.slice(0, q.start);
    let after = this.input.value.slice(q.end);
    // A mention taken out of the text takes one of the spaces around it along.
    if (text === '' && (before === '' || /\s$/.test(before))) after = after.replace(/^[ \t]/, '');
    this.input.value = before + text + after;
    this.input.selectionStart = this.input.selectionEnd = before.length + text.length;
    this.changed();
  }

  private move(by: number): void {
    if (this.items.length === 0) return;
    this.active = (this.active + by + this.items.length) % this.items.length;
    this.render();
  }

  private show(items: PickerItem[], empty = 'Nothing matches.'): void {
    this.items = items;
    this.active = 0;
    if (items.length === 0) {
      this.list.hidden = false;
      const hint = document.createElement('li');
      hint.className = 'picker-empty';
      hint.textContent = empty;
      this.list.replaceChildren(hint);
      return;
    }
    this.render();
  }

  private render(): void {
    this.list.hidden = false;
    this.list.replaceChildren(
      ...this.items.map((item, index) => {
        const li = document.createElement('li');
        li.dataset.index = String(index);
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', String(index === this.active));
        li.className = index === this.active ? 'active' : '';
        const label = document.createElement('span');
        label.className = 'picker-label';
        label.textContent = item.label;
        const detail = document.createElement('span');
        detail.className = 'picker-detail';
        detail.textContent = item.detail;
        li.append(label, detail);
        return li;
      }),
    );
    this.list.querySelector('li.active')?.scrollIntoView({ block: 'nearest' });
  }
}
