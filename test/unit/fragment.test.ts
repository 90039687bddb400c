// Apply's fragment matching: golden cases with the whole file expected after the replacement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockEnd, planFragment, replaceLines, splitLines } from '../../client/src/edits/fragment';

/** The file after applying the plan, or the plan itself when it is not a region. */
function applied(file: string, fragment: string): string {
  const plan = planFragment(file, fragment);
  assert.equal(plan.kind, 'region', `expected a region, got ${JSON.stringify(plan)}`);
  if (plan.kind !== 'region') throw new Error('unreachable');
  return replaceLines(file, plan.startLine, plan.endLine, plan.replacement);
}

const mathTs = `import { log } from './log';

export function add(a: number, b: number): number {
  return a + b;
}

export function sub(a: number, b: number): number {
  const d = a - b;
  return d;
}

export function mul(a: number, b: number): number {
  return a * b;
}
`;

describe('fragment matching', () => {
  it('replaces one function of a file of several, by its signature, and nothing else', () => {
    const fragment = `export function sub(a: number, b: number): number {
  log('sub');
  return a - b;
}`;
    assert.equal(
      applied(mathTs, fragment),
      `import { log } from './log';

export function add(a: number, b: number): number {
  return a + b;
}

export function sub(a: number, b: number): number {
  log('sub');
  return a - b;
}

export function mul(a: number, b: number): number {
  return a * b;
}
`,
    );
    const plan = planFragment(mathTs, fragment);
    assert.deepEqual(plan.kind === 'region' && [plan.startLine, plan.endLine, plan.by], [6, 9, 'signature']);
  });

  it('re-indents a method the model wrote at column 0 into its class', () => {
    const file = `class Counter {
  private n = 0;

  inc(): void {
    this.n++;
  }

  get(): number {
    return this.n;
  }
}
`;
    const fragment = `inc(): void {
  this.n += 1;
  this.changed();
}`;
    assert.equal(
      applied(file, fragment),
      `class Counter {
  private n = 0;

  inc(): void {
    this.n += 1;
    this.changed();
  }

  get(): number {
    return this.n;
  }
}
`,
    );
  });

  it('replaces a Python function, whose block ends where the indentation does', () => {
    const file = `import os


def first(x):
    y = x + 1
    return y


def second(x):
    return x * 2
`;
    const fragment = 'def first(x):\n    return x + 2\n';
    assert.equal(
      applied(file, fragment),
      `import os


def first(x):
    return x + 2


def second(x):
    return x * 2
`,
    );
  });

  it('keeps CRLF line breaks', () => {
    const file = 'function a() {\r\n  return 1;\r\n}\r\nfunction b() {\r\n  return 2;\r\n}\r\n';
    assert.equal(
      applied(file, 'function b() {\n  return 3;\n}'),
      'function a() {\r\n  return 1;\r\n}\r\nfunction b() {\r\n  return 3;\r\n}\r\n',
    );
  });

  it('finds a run of statements by its first and last lines', () => {
    const file = `function main() {
  const a = read();
  const b = parse(a);
  write(b);
}
`;
    const fragment = `const a = read();
const b = parse(check(a));
write(b);`;
    assert.equal(
      applied(file, fragment),
      `function main() {
  const a = read();
  const b = parse(check(a));
  write(b);
}
`,
    );
  });

  it('says there is no match when neither the signature nor the first and last lines are in the file', () => {
    assert.deepEqual(planFragment(mathTs, 'export function div(a: number, b: number): number {\n  return a / b;\n}'), { kind: 'none' });
    assert.deepEqual(planFragment(mathTs, ''), { kind: 'none' });
  });

  it('says which regions matched when two do, instead of picking one', () => {
    const file = `class A {
  size(): number {
    return 1;
  }
}

class B {
  size(): number {
    return 2;
  }
}
`;
    assert.deepEqual(planFragment(file, 'size(): number {\n  return 3;\n}'), { kind: 'ambiguous', startLines: [1, 7] });
  });

  it('finds the end of a block with a multi-line head and Allman braces', () => {
    const lines = splitLines('int f(int a,\n      int b)\n{\n  return a;\n}\nint g;');
    assert.equal(blockEnd(lines, 0), 4);
    assert.equal(blockEnd(splitLines('if (x) {\n  a();\n} else {\n  b();\n}\nc();'), 0), 4);
  });
});
