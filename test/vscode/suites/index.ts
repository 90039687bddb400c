// Entry of the integration suite, loaded by a real extension host (code-server through the
// workbench URL payload here, @vscode/test-electron where VS Code can be downloaded). The
// harness opens test/fixtures/workspace and sets `localLlm.model` to the generated tiny model.
import { format } from 'node:util';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  // The workbench forwards console lines without applying printf-style arguments; format first.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 180_000, reporter: 'spec' });
  // Binds mocha's describe/it exports to this run before the suites are loaded.
  mocha.suite.emit('pre-require', globalThis, 'integration', mocha);
  await import('./activation.suite.js');
  await import('./sleepWake.suite.js');
  await import('./inlineCompletion.suite.js');
  await import('./chat.suite.js');
  await import('./chatOnCode.suite.js');
  await import('./context.suite.js');
  await import('./modelRoles.suite.js');
  await import('./crash.suite.js');
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    // Say why at once, not only in the summary: a harness timeout would swallow the summary.
    runner.on('fail', (test, err: unknown) =>
      console.log(`FAILED: ${test.fullTitle()}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    );
  });
  if (failures > 0) throw new Error(`${failures} integration test${failures === 1 ? '' : 's'} failed.`);
}
