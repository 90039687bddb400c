// Another candidate (Show Next) from a model server: the same infill with the draw's temperature
// and seed, which each server's API takes per request; a first suggestion sends neither. Checked
// against the documented APIs the replay fixtures hold (test/fixtures/remote/).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { samplingFor } from '../../server/src/completion/candidates';
import { replay, type ReplayServer } from '../fixtures/replayServer';
import { remoteEngineFor, remoteInfill, remoteLoad } from './remoteEngineFor';

const sampling = samplingFor(1);

for (const [kind, path, samplingOf] of [
  ['ollama', '/api/generate', (body: Record<string, unknown>) => body.options],
  ['vllm', '/v1/completions', (body: Record<string, unknown>) => body],
] as const) {
  describe(`another candidate from ${kind}`, () => {
    let server: ReplayServer;
    before(async () => (server = await replay(kind)));
    after(() => server.close());

    it('sends the draw’s temperature and seed, and a first suggestion neither', async () => {
      const { engine } = remoteEngineFor(server.url);
      await engine.load(remoteLoad);
      const sent = async (params: typeof remoteInfill & { sampling?: typeof sampling }) => {
        const from = server.requests.length;
        await engine.infill(params);
        const request = server.requests.slice(from).find((r) => r.path === path);
        assert.ok(request, `no ${path} request`);
        return samplingOf(request.body as Record<string, unknown>) as Record<string, unknown>;
      };
      const first = await sent(remoteInfill);
      assert.equal(first.temperature, undefined);
      assert.equal(first.seed, undefined);
      const other = await sent({ ...remoteInfill, sampling });
      assert.equal(other.temperature, sampling.temperature);
      assert.equal(other.seed, sampling.seed);
      await engine.kill();
    });
  });
}
