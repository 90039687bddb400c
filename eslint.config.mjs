// ESLint (flat config): typescript-eslint's recommended rules everywhere, plus the rules that hold
// the folder layout of DESIGN.md: no import cycles, client/ and media/ reach the server only
// through server/src/shared/, and the model host imports only shared/ and the GGUF validator.
// `npm run lint` runs it; `npm test` runs it after the typecheck.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const engineOnly =
  'Features and the lifecycle reach the model host only through the engine interface: server/src/engine/types.ts and create.ts. ' +
  'Add what you need to the Engine interface (the local engine in server/src/engine/local/ implements it), never import the host or its client.';

const serverOnlyViaShared =
  'The client and the webview may import the server only through server/src/shared/. ' +
  'Import it from there, or move what you need (pure, free of node-llama-cpp and vscode-languageserver) into server/src/shared/.';

export default defineConfig(
  globalIgnores(['dist/', 'out/', '.cache/', '.gpu/', '.gl/', '.whl/', 'test-results/', 'bench/results/', '**/*.vsix']),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      // Follow imports into .ts files (import-x reads only .js files unless told), parsed as
      // TypeScript; extensionless relative imports resolve to .ts files, packages to their types.
      'import-x/extensions': ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts', '.cts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // A runtime import cycle anywhere (type-only imports are erased, so they do not count).
      // To fix one, move what both files need into a third file that neither imports back.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },

  {
    // DESIGN.md, "Protocol": each custom message is declared in server/src/shared/protocol.ts as one
    // namespace with its `method` and typed `type` (vscode-eslint and rust-analyzer's style).
    // no-namespace has no option for value namespaces (`allowDeclarations` covers only `declare`),
    // so it is off for exactly that file, stays on everywhere else, and in that file a namespace
    // may hold nothing but exported constants.
    files: ['server/src/shared/protocol.ts'],
    rules: {
      '@typescript-eslint/no-namespace': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "TSModuleBlock > :not(ExportNamedDeclaration[declaration.type='VariableDeclaration'])",
          message: 'A message namespace holds only its exported constants (method, type); put anything else outside it.',
        },
      ],
    },
  },

  {
    files: ['media/**'],
    languageOptions: { globals: { ...globals.browser } },
  },

  {
    // The folder layout. The zones compare resolved paths, so any spelling of an import is caught;
    // no-unresolved makes sure no import slips past them by failing to resolve.
    files: ['client/**', 'media/**'],
    rules: {
      'import-x/no-unresolved': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: ['./client', './media'],
              from: './server',
              except: ['./src/shared'],
              message: serverOnlyViaShared,
            },
            {
              target: './media',
              from: './client',
              message:
                'The webview (media/) runs in the browser and must not import the extension (client/). ' +
                'Put what both need in media/ (the client may import it) or in server/src/shared/.',
            },
          ],
        },
      ],
    },
  },

  {
    // DESIGN.md, "Folder layout": the model host process imports only server/src/shared/ and the
    // GGUF validator, so it runs nothing of the language server's.
    files: ['server/src/host/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './server/src/host',
              from: './server/src',
              // The engine's types (engine/types.ts: pure, it imports only shared/) are what the host's messages carry.
              except: ['./host', './shared', './models/gguf.ts', './engine/types.ts'],
              message:
                'The model host imports only server/src/shared/, the GGUF validator (server/src/models/gguf.ts) and the engine types (server/src/engine/types.ts). ' +
                'Move what it needs into server/src/host/ (only the host uses it) or server/src/shared/ (both sides do), or pass it in its messages.',
            },
          ],
        },
      ],
    },
  },

  {
    // The engine's types are what both processes speak, so they import nothing but server/src/shared/.
    files: ['server/src/engine/types.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './server/src/engine/types.ts',
              from: './server/src',
              except: ['./shared', './engine/types.ts'],
              message: 'server/src/engine/types.ts is imported by the model host too, so it imports only server/src/shared/.',
            },
          ],
        },
      ],
    },
  },

  {
    // DESIGN.md, "Folder layout": the features and the lifecycle reach the model host only through
    // the engine interface (engine/types.ts, engine/create.ts), never its process or its client.
    files: ['server/src/lifecycle/**', 'server/src/completion/**', 'server/src/chat/**', 'server/src/models/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: ['./server/src/lifecycle', './server/src/completion', './server/src/chat', './server/src/models'],
              from: './server/src/host',
              message: engineOnly,
            },
            {
              target: ['./server/src/lifecycle', './server/src/completion', './server/src/chat', './server/src/models'],
              from: './server/src/engine/local',
              message: engineOnly,
            },
            {
              target: './server/src/models',
              from: ['./server/src/engine', './server/src/lifecycle'],
              message:
                'server/src/models/ turns the model setting into a checked file and knows no process: it must not import the engine or the lifecycle. ' +
                'Pass what it needs as an argument, or move the shared piece into server/src/shared/.',
            },
          ],
        },
      ],
    },
  },

  {
    // What the client may import must not lead back into the server's internals.
    files: ['server/src/shared/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './server/src/shared',
              from: './server/src',
              except: ['./shared'],
              message: 'server/src/shared/ is what the client imports, so it must not import the rest of the server.',
            },
          ],
        },
      ],
    },
  },

  {
    // The HTTP engines talk to a model server; what the completion feature or the model setting
    // does is not theirs to know.
    files: ['server/src/engine/http/**'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './server/src/engine/http',
              from: ['./server/src/completion', './server/src/models'],
              message:
                'The HTTP engines (engine/http/) import neither completion/ nor models/: move what both need into server/src/shared/, or pass it in as an argument.',
            },
          ],
        },
      ],
    },
  },
);
