// package.json's `contributes` against the sources it mirrors: settings.ts (schema, defaults,
// ranges, choices) and the command table, commands/table.ts (commands, titles, when clauses).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import './vscodeStub';
import { clientOnlySettings } from '../../client/src/chat/historySetting';
import { commandCategory, createCommands } from '../../client/src/commands/table';
import {
  defaultSettings,
  gpuChoices,
  machineScopedKeys,
  normalizeSettings,
  ranges,
  reloadKeys,
  sleepModes,
} from '../../server/src/shared/settings';

const root = path.resolve(__dirname, '../..');

interface SettingSchema {
  type?: string | string[];
  default?: unknown;
  enum?: unknown[];
  enumDescriptions?: string[];
  minimum?: number;
  maximum?: number;
  anyOf?: SettingSchema[];
  description?: string;
  markdownDescription?: string;
  scope?: string;
}

interface Manifest {
  main: string;
  engines: { vscode: string };
  activationEvents?: string[];
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    menus: { commandPalette: Array<{ command: string; when: string }> };
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    views: Record<string, Array<{ type?: string; id: string; name: string }>>;
    configuration: { title: string; properties: Record<string, SettingSchema> };
  };
}

const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const properties = manifest.contributes.configuration.properties;

/** defaultSettings flattened to the dotted keys VS Code uses: completion.enabled, ... */
function flatDefaults(): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [key, value] of Object.entries(defaultSettings)) {
    if (typeof value === 'object' && value !== null) {
      for (const [sub, v] of Object.entries(value)) flat.set(`${key}.${sub}`, v);
    } else flat.set(key, value);
  }
  return flat;
}

describe('settings contribution', () => {
  const defaults = flatDefaults();

  it('contributes exactly the settings of settings.ts and the client-only ones, with the same defaults', () => {
    const shared = Object.keys(properties).filter((k) => !clientOnlySettings.includes(k.slice('localLlm.'.length)));
    assert.deepEqual(shared.sort(), [...defaults.keys()].map((k) => `localLlm.${k}`).sort());
    for (const key of clientOnlySettings) assert.ok(properties[`localLlm.${key}`], `${key} is contributed`);
    for (const [key, value] of defaults) assert.deepEqual(properties[`localLlm.${key}`].default, value, key);
  });

  it('describes every setting', () => {
    for (const [key, schema] of Object.entries(properties)) {
      const text = schema.markdownDescription ?? schema.description ?? '';
      assert.ok(text.length > 20, `${key} has a description`);
    }
  });

  it('uses the ranges of settings.ts for every whole-number setting', () => {
    for (const [key, range] of Object.entries(ranges)) {
      const schema = properties[`localLlm.${key}`];
      const numeric = key === 'gpuLayers' ? schema.anyOf?.find((s) => s.type === 'integer') : schema;
      assert.ok(numeric, `${key} has an integer schema`);
      assert.equal(numeric.type, 'integer', key);
      assert.equal(numeric.minimum, range.min, `${key} minimum`);
      assert.equal(numeric.maximum, range.max, `${key} maximum`);
    }
  });

  it('offers gpuLayers as "auto" or a number', () => {
    const schema = properties['localLlm.gpuLayers'];
    assert.deepEqual(schema.anyOf?.find((s) => s.type === 'string')?.enum, ['auto']);
  });

  it('lists the choices of settings.ts, each described', () => {
    const gpu = properties['localLlm.gpu'];
    assert.deepEqual(gpu.enum, [...gpuChoices]);
    assert.equal(gpu.enumDescriptions?.length, gpuChoices.length);
    const mode = properties['localLlm.sleepMode'];
    assert.deepEqual(mode.enum, [...sleepModes]);
    assert.equal(mode.enumDescriptions?.length, sleepModes.length);
  });

  it('types booleans and strings as settings.ts does', () => {
    for (const [key, value] of defaults) {
      const schema = properties[`localLlm.${key}`];
      if (typeof value === 'boolean') assert.equal(schema.type, 'boolean', key);
      if (key === 'model') assert.equal(schema.type, 'string');
    }
  });

  it('scopes to the machine exactly the settings settings.ts lists, so no workspace can set them', () => {
    const machine = Object.entries(properties)
      .filter(([, schema]) => schema.scope === 'machine')
      .map(([key]) => key)
      .sort();
    assert.deepEqual(machine, machineScopedKeys.map((k) => `localLlm.${k}`).sort());
    // `machine-overridable` (and `window`/`resource`) would let .vscode/settings.json set them again.
    for (const [key, schema] of Object.entries(properties)) assert.notEqual(schema.scope, 'machine-overridable', key);
  });

  it('keeps every setting that chooses what native code loads out of workspace hands', () => {
    for (const key of ['model', 'gpu', 'gpuLayers', ...reloadKeys]) {
      assert.ok((machineScopedKeys as readonly string[]).includes(key), `${key} is machine-scoped`);
    }
  });

  it('has defaults that the normalizer accepts as they are', () => {
    const raw: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(properties)) raw[key.slice('localLlm.'.length)] = schema.default;
    const { settings, problems } = normalizeSettings(raw);
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, defaultSettings);
  });
});

describe('commands contribution', () => {
  const contributed = manifest.contributes.commands;
  const commands = createCommands();

  it('puts every command in the "Local LLM" category', () => {
    for (const c of contributed) assert.equal(c.category, commandCategory, c.command);
  });

  it('contributes exactly the commands of the command table, with their titles', () => {
    assert.deepEqual(contributed.map((c) => c.command).sort(), Object.keys(commands).sort());
    for (const c of contributed) assert.equal(c.title, commands[c.command as keyof typeof commands].title, c.command);
  });

  it('offers each command in the palette only when the command table says so', () => {
    const palette = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
    for (const [id, command] of Object.entries(commands)) {
      assert.equal(palette.get(id), command.when, id);
    }
  });

  it('has the commands the product promises', () => {
    const titles = contributed.map((c) => c.title);
    for (const t of [
      'Sleep Now',
      'Wake Up',
      'Open Chat',
      'Toggle Inline Completions',
      'Select Model',
      'Show Logs',
      'Show Last Completion Prompt',
    ])
      assert.ok(titles.includes(t), t);
  });
});

describe('extension manifest', () => {
  it('starts from the bundled client on VS Code 1.100 or later', () => {
    assert.equal(manifest.main, './dist/client.js');
    assert.equal(manifest.engines.vscode, '^1.100.0');
  });

  it('contributes the chat view in its own container, with an icon that exists', () => {
    const [container] = manifest.contributes.viewsContainers.activitybar;
    assert.ok(container);
    assert.ok(existsSync(path.join(root, container.icon)), container.icon);
    const views = manifest.contributes.views[container.id];
    assert.deepEqual(
      views?.map((v) => [v.type, v.id]),
      [['webview', 'localLlm.chatView']],
    );
  });
});
