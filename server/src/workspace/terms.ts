// The words of code and of questions, the same way for both: identifiers are kept whole and also
// split at camelCase, PascalCase, snake_case and digits ("parseHTTPHeader" gives parsehttpheader,
// parse, http, header), so a question in plain words finds the code that names them. Plural and
// -ing/-ed endings are folded (a light stemmer: "chunks" and "chunking" find "chunk"). Pure.

/** Splits a text into raw terms: runs of letters, digits, _ and $. */
export function tokenize(text: string): string[] {
  return text.match(/[\p{L}\p{N}_$]+/gu) ?? [];
}

// Words too common in prose and comments to tell chunks apart; BM25 would weigh them low anyway,
// leaving them out keeps the index smaller.
const stopWords = new Set(
  'a an and are as at be but by for from has have if in into is it its of on or so that the their then there these this to was were will with which when where who can may not no do does'.split(
    ' ',
  ),
);

const minTermLength = 2;
const maxTermLength = 40;

/** The words of one raw term, lower-case, whole identifier first; none for stop words and numbers. */
export function processTerm(raw: string): string[] {
  const parts = raw
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .replace(/(\p{L})(\p{N})/gu, '$1 $2')
    .split(/[\s_$]+/)
    .map((p) => p.toLowerCase());
  const out = new Set<string>();
  const whole = raw.toLowerCase().replace(/^[_$]+|[_$]+$/g, '');
  if (keep(whole)) out.add(stem(whole));
  for (const p of parts) if (keep(p)) out.add(stem(p));
  return [...out];
}

function keep(term: string): boolean {
  return term.length >= minTermLength && term.length <= maxTermLength && !stopWords.has(term) && !/^\d+$/.test(term);
}

/** Folds common English endings so that forms of one word meet; never below 3 letters. */
export function stem(term: string): string {
  const base = withoutSuffix(term);
  // "parse", "parses", "parsed" and "parsing" all become "pars".
  return base.length > 4 && base.endsWith('e') ? base.slice(0, -1) : base;
}

function withoutSuffix(term: string): string {
  if (term.length <= 3) return term;
  if (term.endsWith('ies') && term.length > 4) return `${term.slice(0, -3)}y`;
  if (term.endsWith('sses')) return term.slice(0, -2);
  if (term.endsWith('ing') && term.length > 5) return undouble(term.slice(0, -3));
  if (term.endsWith('ed') && term.length > 4) return undouble(term.slice(0, -2));
  if (term.endsWith('es') && /(?:ch|sh|x|z)es$/.test(term)) return term.slice(0, -2);
  if (term.endsWith('s') && !term.endsWith('ss') && !term.endsWith('us') && !term.endsWith('is')) return term.slice(0, -1);
  return term;
}

/** "stopp" -> "stop", "runn" -> "run" (the doubled consonant before -ing/-ed). */
function undouble(term: string): string {
  const n = term.length;
  if (n >= 4 && term[n - 1] === term[n - 2] && !/[aeiouls]/.test(term[n - 1])) return term.slice(0, -1);
  return term;
}

/** Every term of a text, as the index sees it. */
export function termsOf(text: string): string[] {
  return tokenize(text).flatMap(processTerm);
}

// Where a chunk declares a name: a function, class, type, method or variable bound to a function,
// in the common syntaxes (JS/TS, Python, Rust, Go, Java-like methods).
const declarations = [
  /\b(?:function\*?|class|interface|type|enum|def|fn|func|struct|trait|impl|module|namespace)\s+([A-Za-z_$][\w$]*)/g,
  /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/g,
  /^[ \t]*(?:(?:public|private|protected|static|async|override|readonly|get|set|export|default)\s+)*([A-Za-z_$][\w$]*)\s*\([^)\n]*\)\s*(?::[^{\n]*)?\{/gm,
  /\b([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s+)?(?:function\b|\([^)\n]*\)\s*=>)/g,
];
const notNames = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'constructor', 'super', 'this']);

/** The names a chunk declares, space-separated: they weigh more than names it only uses. */
export function declaredNames(text: string): string {
  const names = new Set<string>();
  for (const pattern of declarations) {
    for (const m of text.matchAll(pattern)) if (!notNames.has(m[1])) names.add(m[1]);
  }
  return [...names].join(' ');
}
