// node-llama-cpp and its JavaScript dependencies, bundled into two ES modules in dist/, so the
// .vsix ships a few bundles instead of ~850 package files:
//   dist/nodeLlamaCpp.mjs       the library; the host and download worker bundles import it
//   dist/testBindingBinary.mjs  the file node-llama-cpp forks to try a binary before loading it
//
// node-llama-cpp finds its data from its own module files: `import.meta.url` of dist/config.js
// leads to llama/ and bins/, of dist/utils/getModuleVersion.js to package.json, and
// dist/bindings/utils/testBindingBinary.js forks its own file. So in each of its modules
// `import.meta.url` becomes the URL that module has in the installed package, computed from the
// bundle's own URL at run time (dist/ and node_modules/ are siblings both in this repository and
// in the installed extension), and node-llama-cpp's package.json and data still ship there;
// only its dist/*.js and its dependencies stay behind. testBindingBinary.js instead gets the URL
// of its own bundle, which is what it then forks.
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Packages the bundles load from node_modules at run time, besides the target's
 * `@node-llama-cpp/*` binaries: @reflink/reflink (ipull's optional fast copy) loads a native
 * package per platform, the way node-llama-cpp loads its binaries. They ship as real packages.
 */
export const runtimePackages = ['@reflink/reflink'];

/** Imports left to Node at run time: the packages above, the binaries, Electron's own module. */
const external = ['@node-llama-cpp/*', 'electron', ...runtimePackages];

/** Where a bundled node-llama-cpp module's `import.meta.url` points instead, relative to the project root. */
const ownUrl = { 'dist/bindings/utils/testBindingBinary.js': 'dist/testBindingBinary.mjs' };

const posix = (p) => p.split(path.sep).join('/');

/**
 * Rewrites `import.meta.url` in node-llama-cpp's modules (see above), and fails the build when
 * any other bundled package asks for its own location, which would then be the bundle's.
 */
function moduleUrls(root, outdir) {
  const packageDir = realpathSync(path.join(root, 'node_modules', 'node-llama-cpp'));
  return {
    name: 'node-llama-cpp-module-urls',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const inPackage = posix(path.relative(packageDir, args.path));
        if (inPackage.startsWith('../') || path.isAbsolute(inPackage)) {
          const asks = source.match(/\bimport\.meta\.(url|dirname|filename|resolve)\b|\b__dirname\b|\b__filename\b/);
          if (asks) {
            return {
              errors: [
                {
                  text: `${args.path} uses ${asks[0]}, which would be the bundle's location; keep its package external (scripts/build/nodeLlamaCpp.mjs).`,
                },
              ],
            };
          }
          return undefined;
        }
        if (!inPackage.startsWith('dist/')) return { errors: [{ text: `${args.path} is outside node-llama-cpp's dist/.` }] };
        if (!source.includes('import.meta')) return undefined;
        if (/\bimport\.meta\.(?!url\b)/.test(source))
          return { errors: [{ text: `${args.path} uses import.meta beyond .url; extend scripts/build/nodeLlamaCpp.mjs.` }] };
        // A module that starts its own file in a child needs a bundle of its own (ownUrl).
        if (/\bfork\(|new Worker\(/.test(source) && !ownUrl[inPackage]) {
          return {
            errors: [
              { text: `${args.path} may start its own file in a child process; give it its own bundle (scripts/build/nodeLlamaCpp.mjs).` },
            ],
          };
        }
        const target = ownUrl[inPackage] ?? `node_modules/node-llama-cpp/${inPackage}`;
        const fromBundle = posix(path.relative(path.join(root, outdir), path.join(root, target)));
        const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
        return { contents: source.replaceAll('import.meta.url', url), loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** The two esbuild options of the node-llama-cpp bundles; `base` holds the shared settings. */
export function nodeLlamaCppBundles({ root, base }) {
  const llamaDist = path.join(root, 'node_modules', 'node-llama-cpp', 'dist');
  const common = {
    ...base,
    format: 'esm',
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    external,
    // The CommonJS dependencies call require() for Node's modules; an ES module has none of its own.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [moduleUrls(root, 'dist')],
  };
  return [
    { ...common, entryPoints: { nodeLlamaCpp: path.join(llamaDist, 'index.js') } },
    { ...common, entryPoints: { testBindingBinary: path.join(llamaDist, 'bindings', 'utils', 'testBindingBinary.js') } },
  ];
}

/** For the CommonJS bundles: `import('node-llama-cpp')` loads dist/nodeLlamaCpp.mjs, next to them. */
export const importBundledNodeLlamaCpp = {
  name: 'import-bundled-node-llama-cpp',
  setup(build) {
    build.onResolve({ filter: /^node-llama-cpp$/ }, () => ({ path: './nodeLlamaCpp.mjs', external: true }));
  },
};
