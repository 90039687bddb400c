// Which platform-specific packages go into each target's .vsix.
//
// node-llama-cpp picks its prebuilt binaries in getPrebuiltBinariesPackageDirectoryForBuildOptions
// (node_modules/node-llama-cpp/dist/bindings/utils/compileLLamaCpp.js, 3.21.1): per platform and
// architecture one package, plus a Vulkan and a CUDA (+ CUDA-ext) package on linux-x64 and
// win32-x64; linux-riscv64 has no VS Code target. ipull (node-llama-cpp's downloader) imports
// @reflink/reflink when it can, which loads one native package per platform
// (@reflink/reflink's optionalDependencies). Every other production package is plain JavaScript.
// checkTables() holds these tables against the installed packages' own lists.

/** vsce target -> packages always shipped, and packages shipped only with --cuda. */
export const targets = {
  'linux-x64': {
    base: ['@node-llama-cpp/linux-x64', '@node-llama-cpp/linux-x64-vulkan', '@reflink/reflink-linux-x64-gnu'],
    cuda: ['@node-llama-cpp/linux-x64-cuda', '@node-llama-cpp/linux-x64-cuda-ext'],
  },
  'linux-arm64': { base: ['@node-llama-cpp/linux-arm64', '@reflink/reflink-linux-arm64-gnu'], cuda: [] },
  'linux-armhf': { base: ['@node-llama-cpp/linux-armv7l'], cuda: [] },
  'darwin-arm64': { base: ['@node-llama-cpp/mac-arm64-metal', '@reflink/reflink-darwin-arm64'], cuda: [] },
  'darwin-x64': { base: ['@node-llama-cpp/mac-x64', '@reflink/reflink-darwin-x64'], cuda: [] },
  'win32-x64': {
    base: ['@node-llama-cpp/win-x64', '@node-llama-cpp/win-x64-vulkan', '@reflink/reflink-win32-x64-msvc'],
    cuda: ['@node-llama-cpp/win-x64-cuda', '@node-llama-cpp/win-x64-cuda-ext'],
  },
  'win32-arm64': { base: ['@node-llama-cpp/win-arm64', '@reflink/reflink-win32-arm64-msvc'], cuda: [] },
};

/** Platform packages that no target ships, on purpose. */
const unshipped = new Set([
  '@node-llama-cpp/linux-riscv64', // no VS Code target
  '@reflink/reflink-linux-arm64-musl', // Alpine targets are not built
  '@reflink/reflink-linux-x64-musl',
]);

/** The packages that ship for `target`. */
export function packagesFor(target, cuda) {
  const spec = targets[target];
  return cuda ? [...spec.base, ...spec.cuda] : [...spec.base];
}

/** The vsce target of this machine, if node-llama-cpp has binaries for it. */
export function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  return platform && arch ? `${platform}-${arch}` : undefined;
}

/**
 * Errors (sentences) where the tables above and the lockfile disagree: a package named here that
 * the lockfile does not have, or a platform-specific production package that no table mentions.
 * `lock` is package-lock.json, parsed.
 */
export function checkTables(lock) {
  const named = new Set(Object.values(targets).flatMap((t) => [...t.base, ...t.cuda]));
  const errors = [];
  for (const name of named) {
    if (!lock.packages[`node_modules/${name}`]) errors.push(`${name} is in scripts/package/targets.mjs but not in package-lock.json.`);
  }
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key || entry.dev || !(entry.os || entry.cpu)) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!named.has(name) && !unshipped.has(name)) {
      errors.push(`${name} is a platform-specific production package that scripts/package/targets.mjs does not place in any target.`);
    }
  }
  return errors;
}
