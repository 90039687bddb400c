// The download tests' server (test/fixtures/httpModelServer.ts) in its 'drop' mode must cut a
// download whatever parts the downloader asks for: with parts each shorter than the per-response
// limit, it still never serves the whole file, so a test that expects the cut never flakes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startModelServer, type ModelServer } from '../fixtures/httpModelServer';

const size = 3 * 1024 * 1024;
const part = 512 * 1024;

describe("the model server's 'drop' mode", () => {
  let dir: string;
  let server: ModelServer;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'llm-drop-'));
    const file = path.join(dir, 'model.gguf');
    writeFileSync(file, randomBytes(size));
    // Each part is far below the per-response limit: only the limit on the whole file can cut.
    server = await startModelServer({ file, mode: 'drop', dropAfterBytes: 2 * part });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts a download made of small parts before its last byte', async () => {
    const url = `${server.endpoint}user/repo/resolve/main/model.gguf`;
    let received = 0;
    let cut = false;
    for (let start = 0; start < size && !cut; start += part) {
      const response = await fetch(url, { headers: { range: `bytes=${start}-${start + part - 1}` } });
      assert.equal(response.status, 206);
      try {
        received += (await response.arrayBuffer()).byteLength;
      } catch {
        cut = true;
      }
    }
    assert.ok(cut, 'one part was cut');
    assert.ok(received < size, `${received} of ${size} bytes arrived: never the whole file`);
  });
});
