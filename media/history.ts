// The History list of the chat panel: kept chats by title and date, each to reopen or delete,
// and Delete all. The extension keeps them; this only draws the list and reports clicks.
import type { FromWebview, KeptChatEntry } from './messages';

function formatDate(at: number): string {
  const d = new Date(at);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export class HistoryList {
  constructor(
    private readonly box: HTMLElement,
    private readonly list: HTMLUListElement,
    private readonly note: HTMLElement,
    private readonly deleteAll: HTMLButtonElement,
    private readonly post: (message: FromWebview) => void,
  ) {
    list.addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-id]');
      const id = button?.dataset.id;
      if (!button || !id) return;
      if (button.dataset.action === 'delete') this.post({ type: 'deleteChat', id });
      else {
        this.post({ type: 'openChat', id });
        this.hide();
      }
    });
    deleteAll.addEventListener('click', () => this.post({ type: 'deleteAllChats' }));
  }

  get shown(): boolean {
    return !this.box.hidden;
  }

  show(): void {
    this.box.hidden = false;
    this.post({ type: 'listChats' });
  }

  hide(): void {
    this.box.hidden = true;
  }

  draw(chats: KeptChatEntry[], note: string | null): void {
    this.note.hidden = note === null;
    this.note.textContent = note ?? '';
    this.deleteAll.disabled = chats.length === 0;
    if (chats.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'history-empty';
      empty.textContent = 'No chats are kept yet.';
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(
      ...chats.map((chat) => {
        const li = document.createElement('li');
        const open = document.createElement('button');
        open.type = 'button';
        open.className = 'history-open';
        open.dataset.id = chat.id;
        open.title = 'Reopen this chat';
        const title = document.createElement('span');
        title.className = 'history-title';
        title.textContent = chat.title;
        const when = document.createElement('span');
        when.className = 'history-date';
        when.textContent = `${formatDate(chat.updatedAt)} · ${chat.questions} question${chat.questions === 1 ? '' : 's'}`;
        open.append(title, when);
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'history-delete secondary';
        remove.dataset.id = chat.id;
        remove.dataset.action = 'delete';
        remove.title = 'Delete this chat';
        remove.setAttribute('aria-label', `Delete ${chat.title}`);
        remove.textContent = '×';
        li.append(open, remove);
        return li;
      }),
    );
  }
}
