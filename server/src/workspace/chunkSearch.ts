// BM25 over the workspace's chunks, with MiniSearch (lucaong/minisearch): chosen over Orama
// because it is one small dependency-free package that does exactly this: a BM25+ ranking, custom
// tokenizing (our code-aware terms.ts), removing a changed file's chunks without a rebuild
// (discard, with its own vacuuming), and a plain-JSON form that loads back asynchronously
// (loadJSONAsync) so that a restart never re-reads the files. It keeps no chunk text: the text
// is read from the file when a chunk is retrieved, so 50,000 files cost their terms only.
import MiniSearch, { type Options, type SearchResult } from 'minisearch';
import { termsOf, tokenize, processTerm } from './terms';

/** One chunk as the index sees it: its id, its file's path words and its text. */
export interface ChunkDocument {
  id: number;
  /** The workspace-relative path: its words count too ("chat/contextBudget.ts" for "context budget"). */
  path: string;
  /** The names the chunk declares (terms.ts declaredNames). */
  names: string;
  text: string;
}

export interface ChunkHit {
  id: number;
  score: number;
}

const options: Options<ChunkDocument> = {
  fields: ['text', 'path', 'names'],
  storeFields: [],
  tokenize,
  processTerm,
  searchOptions: {
    // A path word or a declared name weighs more than a word of the text: they say what the chunk is about.
    boost: { path: 2, names: 2 },
    combineWith: 'OR',
    // The question's words are already processed (unique, stemmed) by termsOf.
    tokenize: (query: string) => query.split(' ').filter((t) => t.length > 0),
    processTerm: (term: string) => term,
  },
};

export class ChunkSearch {
  private constructor(private readonly search: MiniSearch<ChunkDocument>) {}

  static empty(): ChunkSearch {
    return new ChunkSearch(new MiniSearch(options));
  }

  /** Loads what `toJSON` wrote, yielding to the event loop as it goes. */
  static async fromJSON(json: string): Promise<ChunkSearch> {
    return new ChunkSearch(await MiniSearch.loadJSONAsync(json, options));
  }

  get size(): number {
    return this.search.documentCount;
  }

  add(doc: ChunkDocument): void {
    this.search.add(doc);
  }

  /** Forgets chunks; MiniSearch vacuums its tree in the background once enough are gone. */
  remove(ids: readonly number[]): void {
    const present = [...new Set(ids)].filter((id) => this.search.has(id));
    if (present.length > 0) this.search.discardAll(present);
  }

  /** The best chunks for a question, best first. */
  query(question: string, limit: number): ChunkHit[] {
    const terms = [...new Set(termsOf(question))];
    if (terms.length === 0) return [];
    const results: SearchResult[] = this.search.search(terms.join(' '));
    return results.slice(0, limit).map((r) => ({ id: r.id as number, score: r.score }));
  }

  toJSON(): string {
    return JSON.stringify(this.search);
  }
}
