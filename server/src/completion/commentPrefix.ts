// The line comment of a language, for models without repository tokens: the host writes each
// context chunk as a comment block in it (host/llama/promptLayout.ts). Pure.

/** Line comments by VS Code language id; every other language gets "//". */
const commentPrefixes: Record<string, string> = {
  python: '#',
  shellscript: '#',
  ruby: '#',
  perl: '#',
  r: '#',
  yaml: '#',
  toml: '#',
  dockerfile: '#',
  makefile: '#',
  powershell: '#',
  elixir: '#',
  julia: '#',
  coffeescript: '#',
  nim: '#',
  crystal: '#',
  cmake: '#',
  sql: '--',
  lua: '--',
  haskell: '--',
  elm: '--',
  ada: '--',
  clojure: ';;',
  scheme: ';;',
  lisp: ';;',
  erlang: '%',
  latex: '%',
  tex: '%',
  matlab: '%',
  vb: "'",
  bat: 'REM',
};

export function commentPrefixFor(languageId: string): string {
  return commentPrefixes[languageId] ?? '//';
}
