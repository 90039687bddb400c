// `npm run test:electron`: the extension-host integration suite in desktop VS Code through
// @vscode/test-electron, for machines that can download VS Code. Where the download is
// impossible (no route to Microsoft's update server) it says so and exits 0: the same suite
// runs in code-server as part of `npm test` (test/vscode/integration.test.ts).
// VSCODE_EXECUTABLE_PATH uses a VS Code already on disk; VSCODE_TEST_VERSION picks the download.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(import.meta.dirname, '..', '..');
const testsPath = path.join(root, 'dist', 'test', 'vscode', 'index.js');
const version = process.env.VSCODE_TEST_VERSION ?? '1.100.3';
const cachePath = path.join(process.env.LOCAL_LLM_CACHE ?? path.join(root, '.cache'), 'vscode-test');

function say(line) {
  process.stderr.write(`[test:electron] ${line}\n`);
}

async function vscodeExecutable() {
  const local = process.env.VSCODE_EXECUTABLE_PATH;
  if (local) {
    if (!existsSync(local)) throw new Error(`VSCODE_EXECUTABLE_PATH points to ${local}, which does not exist.`);
    return local;
  }
  try {
    return await downloadAndUnzipVSCode({ version, cachePath, timeout: 30_000 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    say(`Skipped: VS Code ${version} cannot be downloaded here (${reason.split('\n')[0]}).`);
    say('The same integration suite runs inside code-server in "npm test"; set VSCODE_EXECUTABLE_PATH to use a local VS Code.');
    return null;
  }
}

const executable = await vscodeExecutable();
if (executable === null) process.exit(0);

if (!existsSync(testsPath)) {
  say(`${path.relative(root, testsPath)} is missing; build it with "npm run build".`);
  process.exit(1);
}

// Electron needs a display; on a headless Linux run ourselves again under a virtual one.
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.LOCAL_LLM_UNDER_XVFB) {
  const xvfb = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).stdout.trim();
  if (xvfb) {
    const r = spawnSync(xvfb, ['-a', process.execPath, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, LOCAL_LLM_UNDER_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
  say('No DISPLAY and no xvfb-run: VS Code may fail to open a window (apt-get install xvfb).');
}

const { createProfile, quietWorkbenchSettings, writeUserSettings, tinyModelPath, copyWorkspace } = await tsImport(
  path.join(root, 'test', 'vscode', 'index.ts'),
  import.meta.url,
);

const profile = createProfile('electron');
let code = 1;
try {
  writeUserSettings(profile, { ...quietWorkbenchSettings, 'localLlm.model': await tinyModelPath() });
  const workspace = copyWorkspace(undefined, path.join(profile.root, 'workspace'));
  code = await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: testsPath,
    // Its own rendezvous for the shared model host, apart from the user's editor.
    extensionTestsEnv: { LOCAL_LLM_RUNTIME_DIR: path.join(profile.root, 'run') },
    launchArgs: [
      workspace,
      '--user-data-dir',
      profile.userDataDir,
      '--extensions-dir',
      profile.extensionsDir,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
    ],
  });
} catch (err) {
  say(`The suite could not run: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  profile.dispose();
}
say(code === 0 ? 'The integration suite passed in desktop VS Code.' : `The integration suite failed (exit code ${code}).`);
process.exit(code);
