// A fresh copy of a fixture folder per run: VS Code restores unsaved edits into reused files.
import { cpSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './paths';

export const sampleWorkspace = path.join(repoRoot, 'test', 'fixtures', 'workspace');

/** Copies `source` to `into` (default: a new temporary folder) and returns the copy's path. */
export function copyWorkspace(source: string = sampleWorkspace, into?: string): string {
  const target = into ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'local-llm-ws-')), path.basename(source));
  cpSync(source, target, { recursive: true });
  return target;
}
