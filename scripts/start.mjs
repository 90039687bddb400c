// `npm start`: builds the extension and opens it on a sample workspace.
//  - A desktop `code` on the PATH: VS Code opens with the extension in development mode.
//  - Otherwise: a local code-server on 127.0.0.1 with the packaged extension; prints the URL
//    and runs until Ctrl-C.
// The model: `--model <path|hf:…>`, else `--demo` (the generated tiny model, offline), else the
// user's own `localLlm.model`, else the extension's default model (downloaded with progress).
// `--code-server` skips the desktop VS Code; `--port N` fixes the port.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(import.meta.dirname, '..');
// One import of the dev tools: their modules must be one copy (the live process groups list).
const dev = await tsImport(path.join(root, 'scripts', 'dev', 'index.ts'), import.meta.url);
const { isRemoteModelRef } = await tsImport(path.join(root, 'server', 'src', 'shared', 'modelRef.ts'), import.meta.url);

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

let options;
try {
  options = parseArgs({
    options: {
      demo: { type: 'boolean', default: false },
      model: { type: 'string' },
      port: { type: 'string' },
      'code-server': { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}. Usage: npm start [-- --demo | --model <file.gguf|hf:…>] [--code-server] [--port N]`);
}
const port = options.port === undefined ? undefined : Number(options.port);
if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
  fail(`--port must be a port number, not "${options.port}".`);

/** The user's own localLlm.model from a desktop VS Code or code-server settings file. */
function userModelSetting() {
  const home = os.homedir();
  const config = process.env.XDG_CONFIG_HOME ?? path.join(home, '.config');
  const appData = process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming');
  const mac = path.join(home, 'Library', 'Application Support');
  const products = ['Code', 'Code - Insiders', 'VSCodium'];
  const files = [
    ...products
      .flatMap((p) => [path.join(config, p), path.join(mac, p), path.join(appData, p)])
      .map((d) => path.join(d, 'User', 'settings.json')),
    path.join(home, '.local', 'share', 'code-server', 'User', 'settings.json'),
  ];
  for (const file of files) {
    if (!existsSync(file)) continue;
    // settings.json is JSONC; the one string we want is read on its own.
    const match = readFileSync(file, 'utf8').match(/"localLlm\.model"\s*:\s*("(?:[^"\\]|\\.)*")/);
    if (match) {
      const value = JSON.parse(match[1]).trim();
      if (value) return { value, file };
    }
  }
  return null;
}

function commandOnPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim() || null;
}

async function chooseModel() {
  if (options.model !== undefined) {
    const m = options.model.trim();
    if (!m) fail('--model needs a .gguf path or an hf: URI.');
    const isRemote = isRemoteModelRef(m);
    const local = isRemote ? m : path.resolve(m);
    if (!isRemote && !existsSync(local)) fail(`the model file ${local} does not exist.`);
    return { value: local, why: 'from --model' };
  }
  if (options.demo) {
    return { value: await dev.tinyModelPath(), why: 'the generated tiny demo model; its weights are random, so its text is noise' };
  }
  return null;
}

async function main() {
  console.log('Building the extension…');
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
    fail('the build failed (see above).');
  }

  const startDir = path.join(process.env.LOCAL_LLM_CACHE ?? path.join(root, '.cache'), 'start');
  const workspace = path.join(startDir, 'workspace');
  // A fresh copy every time: VS Code restores unsaved edits into a reused folder.
  rmSync(workspace, { recursive: true, force: true });
  mkdirSync(startDir, { recursive: true });
  dev.copyWorkspace(undefined, workspace);

  const chosen = await chooseModel();
  const settings = {};
  if (chosen) settings['localLlm.model'] = chosen.value;
  // The demo sleeps soon, so the sleep and wake are there to see.
  if (options.demo) settings['localLlm.sleepIdleSeconds'] = 60;

  const code = options['code-server'] ? null : commandOnPath('code');
  if (code) {
    // The model is a machine-scoped setting, which VS Code ignores in a workspace's settings.json:
    // a chosen model goes into the user settings of a profile of its own, never into the user's.
    const profileArgs = [];
    if (Object.keys(settings).length) {
      const userDataDir = path.join(startDir, 'desktop-profile');
      mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
      writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
      profileArgs.push(`--user-data-dir=${userDataDir}`);
    }
    console.log(`Opening VS Code (${code}) with the extension in development mode on ${workspace}`);
    console.log(
      chosen ? `Model: ${chosen.value} (${chosen.why}).` : 'Model: your localLlm.model setting, or the default model when none is set.',
    );
    const r = spawnSync(code, ['--new-window', ...profileArgs, `--extensionDevelopmentPath=${root}`, workspace], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }

  if (!chosen) {
    const mine = userModelSetting();
    if (mine) {
      settings['localLlm.model'] = mine.value;
      console.log(`Model: ${mine.value} (your localLlm.model in ${mine.file}).`);
    } else {
      console.log('Model: none set, so the extension uses its default model and downloads it with progress on first use.');
    }
  } else {
    console.log(`Model: ${chosen.value} (${chosen.why}).`);
  }

  const {
    ensureCodeServer,
    installExtension,
    startCodeServer,
    packageVsix,
    createProfile,
    writeUserSettings,
    onSignalCleanup,
    setSignalExitCode,
  } = dev;

  console.log(
    options['code-server']
      ? 'Serving VS Code in the browser (code-server).'
      : 'No desktop `code` on the PATH: serving VS Code in the browser (code-server).',
  );
  await ensureCodeServer();
  console.log('Packaging the extension…');
  const vsix = await packageVsix(path.join(startDir, 'local-llm.vsix'));
  const profileDir = path.join(startDir, 'profile');
  rmSync(profileDir, { recursive: true, force: true });
  const profile = createProfile('start', profileDir);
  writeUserSettings(profile, {
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'chat.disableAIFeatures': true,
    ...settings,
  });
  await installExtension(profile, vsix);

  const server = await startCodeServer({ profile, workspace, port });
  setSignalExitCode(0);
  onSignalCleanup(() => console.log('\nStopping code-server…'));
  process.on('exit', () => console.log('Stopped.'));
  console.log('');
  console.log(`Local LLM is running in VS Code at ${server.baseUrl}?folder=${encodeURIComponent(workspace)}`);
  console.log(`code-server process group ${server.pgid}. Press Ctrl-C to stop it.`);
  // Stay alive until a signal; processGroup stops code-server's whole group then.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
