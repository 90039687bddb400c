// Lets a unit test load client modules that import `vscode` (the command table and its handlers),
// to read what they declare. Import it before them. Nothing of VS Code runs here: the stand-in has
// only what those modules touch while loading, and a handler that ran would fail on it at once.
import Module from 'node:module';

const stubPath = '/vscode-stub-for-unit-tests';

const stub = {
  ThemeIcon: class ThemeIcon {
    constructor(readonly id: string) {}
  },
};

interface ModuleInternals {
  _resolveFilename(request: string, ...rest: unknown[]): string;
  _cache: Record<string, unknown>;
}

const internals = Module as unknown as ModuleInternals;
const resolve = internals._resolveFilename;
internals._resolveFilename = function (request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? stubPath : resolve.call(this, request, ...rest);
};
const cached = new Module(stubPath);
cached.exports = stub;
cached.loaded = true;
internals._cache[stubPath] = cached;
