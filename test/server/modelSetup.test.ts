// A new user's first start over real LSP: no model set, so the server proposes the recommended
// preset, asks once, downloads it (from a local server standing in for Hugging Face) with
// progress, and loads it; later starts use the cached file without touching the network.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListModelsRequest, SleepRequest, WakeRequest } from '../../server/src/shared/protocol';
import { readIndex } from '../../server/src/models/cache';
import { countingDeadPort, startModelServer, type ModelServer } from '../fixtures/httpModelServer';
import { tinyModel } from '../fixtures/models';
import { startServer } from './lspClient';

const settings = { model: '', contextSize: 1024, threads: 1, sleepIdleSeconds: 0 };

describe('the default model for a new user', () => {
  let hub: ModelServer;
  let storageDir: string;
  let modelSha256: string;
  before(async () => {
    const file = await tinyModel();
    modelSha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    // The hub publishes the file's sha256 in x-linked-etag, as Hugging Face does.
    hub = await startModelServer({ file, mode: 'slow', slowChunkBytes: 64 * 1024, slowTickMs: 20, linkedEtag: true });
    storageDir = mkdtempSync(path.join(os.tmpdir(), 'local-llm-setup-'));
  });
  after(() => hub.close());

  it('declining the download loads nothing and says so', async () => {
    const asked: string[] = [];
    const server = await startServer(settings, {
      storageDir,
      env: { LOCAL_LLM_HF_ENDPOINT: hub.endpoint },
      onMessageRequest: (p) => {
        asked.push(p.message);
        return { title: 'Not now' };
      },
    });
    try {
      const failed = await server.waitForState('error');
      assert.equal(asked.length, 1);
      assert.match(failed.error ?? '', /declined/);
      // The downloader learns the size with a GET it drops after the headers; nothing may be kept.
      const kept = existsSync(path.join(storageDir, 'models')) ? readdirSync(path.join(storageDir, 'models')) : [];
      assert.deepEqual(
        kept.filter((f) => f.includes('.gguf')),
        [],
        'nothing was downloaded',
      );
    } finally {
      await server.stop();
    }
  });

  it('asks once with the size, downloads with progress, and loads the preset', async () => {
    const asked: string[] = [];
    const progressTokens: unknown[] = [];
    const server = await startServer(settings, {
      storageDir,
      env: { LOCAL_LLM_HF_ENDPOINT: hub.endpoint },
      progressTokens,
      onMessageRequest: (p) => {
        asked.push(p.message);
        return { title: 'Download' };
      },
    });
    try {
      const ready = await server.waitForState('ready', 120_000);
      // Where two fit, a base model for completions and then an Instruct model for chat, each asked for.
      const pair = /the chat model is asked for next/.test(asked[0] ?? '');
      assert.equal(asked.length, pair ? 2 : 1, asked.join(' | '));
      assert.match(asked[0], /qwen2\.5-coder-.*\.gguf \(\d/i, 'the question names the file and its size');
      if (pair) assert.match(asked[1] ?? '', /qwen2\.5-coder-.*-instruct-.*\.gguf \(\d.*It answers chat\./i);
      // The default is a base + Instruct pair where two fit, else one Instruct model; the question says which, and why.
      assert.match(
        asked[0],
        /(It makes the completions; the chat model is asked for next\. Two models fit|so one Instruct model, .*, serves both\.)/,
      );
      assert.ok(progressTokens.length >= 1, 'a progress notification was shown');
      assert.equal(ready.model?.name, 'tiny-random');
      assert.ok(ready.model?.path.startsWith(storageDir));
      const listing = await server.connection.sendRequest(ListModelsRequest.type);
      assert.equal(listing.cached.length, asked.length);
      assert.ok(listing.presets.some((p) => p.id === listing.recommendedPresetId));
      assert.ok(listing.pairs && listing.pairs.length > 0, 'base + Instruct pairs are listed');
      assert.ok(listing.recommendedPairId === null || listing.pairs.some((p) => p.id === listing.recommendedPairId));
      assert.match(listing.recommendationReason ?? '', /^Two models/);
      // The bundled server's worker checked the content against the hub's sha256 and recorded it.
      const index = await readIndex(path.join(storageDir, 'models'));
      assert.deepEqual(
        index.map((e) => [e.sha256, e.verifiedBy]),
        asked.map(() => [modelSha256, 'hub']),
      );
    } finally {
      await server.stop();
    }
  });

  it('a later start with the network off loads the cached model without a single connection', async () => {
    const dead = await countingDeadPort();
    const server = await startServer(settings, {
      storageDir,
      env: { LOCAL_LLM_HF_ENDPOINT: dead.endpoint },
      onMessageRequest: () => {
        throw new Error('nothing should be asked: the model is cached');
      },
    });
    try {
      const ready = await server.waitForState('ready', 60_000);
      assert.equal(ready.model?.name, 'tiny-random');
      assert.equal(dead.connections, 0);
    } finally {
      await server.stop();
      await dead.close();
    }
  });

  it('declining the default chat model keeps the completion model for chat, and asks no more this session', async (t) => {
    const asked: string[] = [];
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'local-llm-setup-'));
    const server = await startServer(settings, {
      storageDir: fresh,
      env: { LOCAL_LLM_HF_ENDPOINT: hub.endpoint },
      onMessageRequest: (p) => {
        asked.push(p.message);
        return { title: asked.length === 1 ? 'Download' : 'Not now' };
      },
    });
    try {
      const ready = await server.waitForState('ready', 120_000);
      if (!/the chat model is asked for next/.test(asked[0] ?? '')) return t.skip('this machine gets one model, not a pair');
      assert.equal(asked.length, 2, asked.join(' | '));
      assert.match(asked[1] ?? '', /-instruct-.*It answers chat\./);
      assert.equal(ready.error, null);
      assert.ok(!ready.chatModel, 'the completion model serves chat');
      // A sleep and a wake load again: the declined model is not asked for again.
      assert.equal((await server.connection.sendRequest(SleepRequest.type)).state, 'sleeping');
      assert.equal((await server.connection.sendRequest(WakeRequest.type)).state, 'ready');
      assert.equal(asked.length, 2);
    } finally {
      await server.stop();
    }
  });
});
