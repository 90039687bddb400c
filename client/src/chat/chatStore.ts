// Kept chats: one JSON file per conversation in the workspace's storage, private to the user
// (folder 0700, files 0600), written whole through a temporary file so a crash never leaves half
// a chat. No `vscode`: the extension hands it the folder.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ChatTurn } from '../../../media/messages';
import type { ChatTurn as ServerTurn } from '../../../server/src/shared/protocol';

export interface KeptChat {
  version: 1;
  /** Also the server's session id while the chat is open. */
  id: string;
  /** The first question, shortened. */
  title: string;
  createdAt: number;
  updatedAt: number;
  turns: ChatTurn[];
}

export interface KeptChatSummary {
  id: string;
  title: string;
  updatedAt: number;
  /** Questions asked in it. */
  questions: number;
}

const idPattern = /^[A-Za-z0-9-]{1,64}$/;
const maxTitle = 80;

export function chatTitle(firstQuestion: string): string {
  const line = firstQuestion.replace(/\s+/g, ' ').trim();
  return line.length > maxTitle ? `${line.slice(0, maxTitle - 1)}…` : line || 'Untitled chat';
}

/** The turns the server needs to go on with a kept chat: each question with its answer, oldest first. */
export function serverTurns(turns: readonly ChatTurn[]): ServerTurn[] {
  const pairs: ServerTurn[] = [];
  for (let i = 0; i < turns.length; i++) {
    const user = turns[i];
    const answer = turns[i + 1];
    if (user.role !== 'user' || answer?.role !== 'assistant') continue;
    // A failed answer taught the model nothing; an empty one neither.
    if (answer.state !== 'error' && answer.text !== '') pairs.push({ user: user.text, assistant: answer.text });
    i++;
  }
  return pairs;
}

function isTurn(value: unknown): value is ChatTurn {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return (
    typeof t.id === 'string' && (t.role === 'user' || t.role === 'assistant') && typeof t.text === 'string' && typeof t.state === 'string'
  );
}

function isKeptChat(value: unknown): value is KeptChat {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.version === 1 &&
    typeof c.id === 'string' &&
    idPattern.test(c.id) &&
    typeof c.title === 'string' &&
    typeof c.createdAt === 'number' &&
    typeof c.updatedAt === 'number' &&
    Array.isArray(c.turns) &&
    c.turns.every(isTurn)
  );
}

export class ChatStore {
  constructor(readonly folder: string) {}

  private file(id: string): string {
    if (!idPattern.test(id)) throw new Error(`"${id}" is not a kept chat's id.`);
    return path.join(this.folder, `${id}.json`);
  }

  async save(chat: KeptChat): Promise<void> {
    await fs.mkdir(this.folder, { recursive: true, mode: 0o700 });
    const target = this.file(chat.id);
    const temp = path.join(this.folder, `.${chat.id}.${randomUUID()}.tmp`);
    try {
      await fs.writeFile(temp, JSON.stringify(chat), { mode: 0o600 });
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }

  /** A chat as kept; null when there is none by that id, or its file is not a kept chat. */
  async load(id: string): Promise<KeptChat | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file(id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return isKeptChat(parsed) && parsed.id === id ? parsed : null;
    } catch {
      return null;
    }
  }

  /** Every kept chat, the latest first; files that are not kept chats are passed over. */
  async list(): Promise<KeptChatSummary[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const chats: KeptChatSummary[] = [];
    for (const name of names) {
      const id = /^(.+)\.json$/.exec(name)?.[1];
      if (!id || !idPattern.test(id)) continue;
      const chat = await this.load(id).catch(() => null);
      if (!chat) continue;
      const questions = chat.turns.filter((t) => t.role === 'user').length;
      chats.push({ id: chat.id, title: chat.title, updatedAt: chat.updatedAt, questions });
    }
    return chats.sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
  }

  async deleteAll(): Promise<void> {
    for (const chat of await this.list()) await this.delete(chat.id);
  }
}
