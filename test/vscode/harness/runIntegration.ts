// Runs the extension-host integration suite (dist/test/vscode/index.js) inside the real
// extension host of code-server: the workbench URL carries the development and tests paths,
// and the test runner reports its exit code through `codeAutomationExit`.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from '../../../scripts/dev/browser';
import { buildBundles } from '../../../scripts/dev/build';
import { startCodeServer, type RunningCodeServer } from '../../../scripts/dev/codeServer';
import { repoRoot } from '../../../scripts/dev/paths';
import { createProfile, quietWorkbenchSettings, writeUserSettings } from '../../../scripts/dev/profile';
import { tinyModelPath } from '../../../scripts/dev/tinyModel';
import { copyWorkspace } from '../../../scripts/dev/workspace';

export interface IntegrationOptions {
  /** The extension folder (package.json + dist). Default: the repo. */
  extensionDevelopmentPath?: string;
  /** The suite's entry, exporting run(). Default: dist/test/vscode/index.js. */
  extensionTestsPath?: string;
  /** A folder copied fresh and opened. Default: test/fixtures/workspace. */
  workspace?: string;
  /** Extra user settings; the tiny model is set unless this sets localLlm.model. */
  settings?: Readonly<Record<string, unknown>>;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export const defaultTestsPath = path.join(repoRoot, 'dist', 'test', 'vscode', 'index.js');

/** The workbench URL that loads an extension in development mode and runs its tests. */
export function integrationUrl(
  server: Pick<RunningCodeServer, 'baseUrl' | 'port'>,
  folder: string,
  extensionPath: string,
  testsPath: string,
): string {
  const remote = (p: string): string => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(testsPath)],
  ];
  return `${server.baseUrl}?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

// The workbench's own chatter while it starts offline; the suite's output is everything else.
const workbenchNoise =
  /Resolving connection token|Resolved connection token|Creating a socket|Failed to load resource|web worker extension host|builtin extensions cache|Service Worker|allow-scripts and allow-same-origin|Creation of workbench contribution|ChatSessionStore|Overwriting extension|open-vsx|github|ERR_NAME_NOT_RESOLVED/i;

/** The browser console renders VS Code's log lines as "%c INFO color: #33f text". */
function tidyConsoleLine(text: string): string {
  return text.replace(/^%c\s*(\w+)\s+color:\s*#[0-9a-fA-F]+\s*/, (_, level: string) => (level === 'INFO' ? '' : `${level} `));
}

/** Returns the suite's exit code: 0 when every test passed. */
export async function runIntegration(options: IntegrationOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const extensionPath = path.resolve(options.extensionDevelopmentPath ?? repoRoot);
  const testsPath = path.resolve(options.extensionTestsPath ?? defaultTestsPath);
  if (!existsSync(testsPath)) throw new Error(`The integration suite ${testsPath} does not exist; run "npm run build" first.`);
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;

  const profile = createProfile('integration');
  const settings: Record<string, unknown> = { ...quietWorkbenchSettings, ...options.settings };
  if (!('localLlm.model' in settings)) settings['localLlm.model'] = await tinyModelPath();
  writeUserSettings(profile, settings);
  const folder = copyWorkspace(options.workspace, path.join(profile.root, 'workspace'));

  let server: RunningCodeServer | undefined;
  const browser = await launchChromium();
  try {
    server = await startCodeServer({ profile });
    const page = await browser.newPage();
    page.on('console', (msg) => {
      const line = tidyConsoleLine(msg.text());
      if (line.trim() && !workbenchNoise.test(line)) log(`[extension host] ${line}`);
    });
    const exitCode = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.goto(integrationUrl(server, folder, extensionPath, testsPath));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        log(`The integration suite did not finish within ${Math.round(timeoutMs / 1000)} s.`);
        resolve(1);
      }, timeoutMs);
    });
    const code = await Promise.race([exitCode, timeout]);
    clearTimeout(timer);
    if (code !== 0) log(`[code-server] ${server.output().trim().split('\n').slice(-40).join('\n[code-server] ')}`);
    return code;
  } finally {
    await browser.close().catch(() => undefined);
    await server?.stop();
    profile.dispose();
  }
}

/** CLI: `node --import tsx test/vscode/harness/runIntegration.ts` builds, runs the suite and exits with its code. */
if (require.main === module) {
  (async () => {
    await buildBundles();
    const started = Date.now();
    const code = await runIntegration();
    process.stderr.write(`Integration suite in code-server: exit code ${code} after ${Math.round((Date.now() - started) / 1000)} s.\n`);
    process.exitCode = code;
  })().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
