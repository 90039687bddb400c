// A language server started with a storage folder of the benchmark's own (to read the state files
// its model host writes), and that folder removed when done: after the host too has exited, since
// a host on its way out still saves its sequences' state there.
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive } from './processAlive';
import { startServer, type TestServer } from './lsp';

export interface OwnStorageServer {
  server: TestServer;
  storageDir: string;
  /** Stops the server, waits for its model host to exit (10 s at most), removes the folder. */
  stop(): Promise<void>;
}

export async function startWithOwnStorage(name: string, settings: Record<string, unknown>): Promise<OwnStorageServer> {
  const storageDir = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-storage-`));
  let server: TestServer;
  try {
    server = await startServer(settings, { storageDir });
  } catch (err) {
    rmSync(storageDir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    storageDir,
    stop: async () => {
      const hostPid = (await server.status().catch(() => null))?.memory.hostPid ?? null;
      await server.stop();
      for (let i = 0; hostPid !== null && alive(hostPid) && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
      rmSync(storageDir, { recursive: true, force: true });
    },
  };
}
