// Development tools shared by `npm start`, the tests and the benchmarks (code-server, Chromium,
// packaging, the generated tiny model), in one import, so scripts loading it through tsx share one copy of
// each module (one list of live process groups, one set of signal handlers).
export { launchChromium } from './browser';
export { buildBundles, packageVsix } from './build';
export { installExtension, startCodeServer, type RunningCodeServer } from './codeServer';
export { codeServerDir, ensureCodeServer, isCodeServerInstalled } from './codeServerInstall';
export { cacheRoot, codeServerVersion, repoRoot, resultsDir } from './paths';
export { isGroupAlive, onSignalCleanup, setSignalExitCode, spawnGroup, stopGroup } from './processGroup';
export { createProfile, quietWorkbenchSettings, writeUserSettings, type Profile } from './profile';
export { tinyModelPath } from './tinyModel';
export { copyWorkspace, sampleWorkspace } from './workspace';
