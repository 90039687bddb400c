// The names near the cursor worth a definition lookup. Pure (no `vscode`): lines in, positions out.

export interface NamePosition {
  name: string;
  line: number;
  /** Any character inside the name. */
  character: number;
}

/** Words of most languages that are never defined in a project; looking them up only costs time. */
const keywords = new Set(
  (
    'abstract and as assert async await break case catch class const continue def default del delete do elif else enum ' +
    'except export extends false final finally fn for from func function global if impl implements import in instanceof ' +
    'interface is let match mod module mut namespace new nil none not null of or package pass private protected pub ' +
    'public raise readonly return self static struct super switch this throw throws true try type typeof undefined ' +
    'use var void where while with yield string number boolean int float bool str char byte long double any unknown never object'
  ).split(' '),
);

const namePattern = /[A-Za-z_$][A-Za-z0-9_$]*/g;

function namesOn(text: string, line: number): NamePosition[] {
  const found: NamePosition[] = [];
  for (const m of text.matchAll(namePattern)) {
    const name = m[0];
    if (name.length < 3 || keywords.has(name.toLowerCase())) continue;
    found.push({ name, line, character: m.index });
  }
  return found;
}

/**
 * Up to `max` distinct names: the one at or just before the cursor first, then the rest of the
 * cursor line nearest first, then the line above (a call's arguments often continue it).
 */
export function namesNear(lineAt: (line: number) => string, line: number, character: number, max = 4): NamePosition[] {
  const current = namesOn(lineAt(line), line);
  const distance = (n: NamePosition): number => {
    const end = n.character + n.name.length;
    if (character >= n.character && character <= end) return 0;
    return character > end ? character - end : n.character - character + 0.5;
  };
  const ordered = [
    ...current.sort((a, b) => distance(a) - distance(b)),
    ...(line > 0 ? namesOn(lineAt(line - 1), line - 1).reverse() : []),
  ];
  const seen = new Set<string>();
  const result: NamePosition[] = [];
  for (const n of ordered) {
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    result.push(n);
    if (result.length >= max) break;
  }
  return result;
}
