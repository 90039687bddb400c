import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkSearch } from '../../server/src/workspace/chunkSearch';
import { declaredNames, processTerm, stem, termsOf } from '../../server/src/workspace/terms';

// A small fixed corpus: one chunk per file, each about one thing.
const corpus: Array<{ path: string; text: string }> = [
  {
    path: 'src/auth/session.ts',
    text: '/** Refreshes the access token when the session expires. */\nexport async function refreshAccessToken(session: Session) {\n  const token = await fetchToken(session.refreshToken);\n  session.expiresAt = Date.now() + token.ttl;\n}',
  },
  {
    path: 'src/db/pool.ts',
    text: '// A pool of database connections, reused between queries.\nexport class ConnectionPool {\n  acquire(): Connection { return this.idle.pop() ?? this.open(); }\n  release(c: Connection) { this.idle.push(c); }\n}',
  },
  {
    path: 'src/ui/theme.css.ts',
    text: 'export const darkTheme = { background: "#111", foreground: "#eee", accent: "orange" };\nexport const lightTheme = { background: "#fff", foreground: "#111" };',
  },
  {
    path: 'src/util/retry.ts',
    text: '/** Retries a failing promise with exponential backoff, at most `attempts` times. */\nexport async function withRetry<T>(run: () => Promise<T>, attempts = 5): Promise<T> {\n  for (let i = 0; ; i++) {\n    try { return await run(); } catch (e) { if (i + 1 >= attempts) throw e; await sleep(2 ** i * 100); }\n  }\n}',
  },
  {
    path: 'scripts/parse_csv.py',
    text: 'def parse_csv_rows(path):\n    """Reads a CSV file and yields each row as a dict."""\n    with open(path) as f:\n        yield from csv.DictReader(f)',
  },
  {
    path: 'README.md',
    text: '# Example\n\nThis project shows a session, a pool, a theme, retries and CSV parsing.',
  },
];

function build(): ChunkSearch {
  const search = ChunkSearch.empty();
  corpus.forEach((doc, id) => search.add({ id, path: doc.path, names: declaredNames(doc.text), text: doc.text }));
  return search;
}

const best = (search: ChunkSearch, q: string): string => corpus[search.query(q, 5)[0]?.id ?? -1]?.path ?? '(none)';

describe('terms', () => {
  it('splits identifiers at case, underscores and digits, and keeps them whole', () => {
    assert.deepEqual(processTerm('parseHTTPHeader'), ['parsehttpheader', 'pars', 'http', 'header']);
    assert.deepEqual(processTerm('parse_csv_rows'), ['parse_csv_row', 'pars', 'csv', 'row']);
    assert.deepEqual(processTerm('the'), []);
    assert.deepEqual(processTerm('404'), []);
  });

  it('folds the forms of a word together', () => {
    for (const [a, b] of [
      ['chunks', 'chunk'],
      ['parsing', 'parse'],
      ['parsed', 'parses'],
      ['retries', 'retry'],
      ['stopped', 'stop'],
      ['connections', 'connection'],
    ]) {
      assert.equal(stem(a), stem(b), `${a} and ${b}`);
    }
  });

  it('gives the same terms to a question and to the code that answers it', () => {
    assert.ok(
      termsOf('how do I refresh the access token?').every((t) => termsOf('refreshAccessToken').includes(t) || t === 'how' || t === 'i'),
    );
  });
});

describe('ChunkSearch (BM25)', () => {
  it('ranks the chunk that answers the question first', () => {
    const search = build();
    assert.equal(best(search, 'where is the access token refreshed when a session expires?'), 'src/auth/session.ts');
    assert.equal(best(search, 'database connection pooling'), 'src/db/pool.ts');
    assert.equal(best(search, 'retry with exponential backoff'), 'src/util/retry.ts');
    assert.equal(best(search, 'read rows of a csv file'), 'scripts/parse_csv.py');
    assert.equal(best(search, 'dark theme colors'), 'src/ui/theme.css.ts');
  });

  it('finds nothing for words no chunk has, and forgets removed chunks', () => {
    const search = build();
    assert.deepEqual(search.query('kubernetes helm chart', 5), []);
    assert.deepEqual(search.query('the of and', 5), []);
    search.remove([3, 3, 99]);
    assert.notEqual(best(search, 'retry with exponential backoff'), 'src/util/retry.ts');
    assert.equal(search.size, corpus.length - 1);
  });

  it('loads back from its JSON with the same answers', async () => {
    const search = build();
    const loaded = await ChunkSearch.fromJSON(search.toJSON());
    for (const q of ['access token', 'csv rows', 'connection pool']) assert.deepEqual(loaded.query(q, 3), search.query(q, 3));
  });
});

describe('declaredNames', () => {
  it('finds the names a chunk declares, in several languages, and not the ones it calls', () => {
    const ts =
      'export async function loadUser(id) {\n  return fetchUser(id);\n}\nconst parseRow = (r) => r;\nclass Pool {\n  acquire(): C {\n    if (x) {}\n  }\n}';
    assert.deepEqual(declaredNames(ts).split(' ').sort(), ['Pool', 'acquire', 'loadUser', 'parseRow']);
    assert.equal(declaredNames('def read_rows(path):\n    return csv(path)'), 'read_rows');
    assert.equal(declaredNames('pub fn spawn_task(x: u8) -> T {'), 'spawn_task');
  });
});
