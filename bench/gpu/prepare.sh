#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored through .git/info/exclude) for bench/gpu.sh on a CUDA machine that
# has no network and takes at most 64 MiB per transfer: the llama.cpp source that node-llama-cpp
# ships, the node_modules the benchmarks need (without the 159 MB prebuilt CUDA library, which
# aborts on Hopper with driver 580, and without other platforms), a Node binary, and dist/.
# Run from the repository root after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out" && mkdir -p "$out"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude

# 1. llama.cpp source, from node-llama-cpp's own git bundle.
tmp=$(mktemp -d)
git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$tmp/llama.cpp"
# Only what building ggml's CUDA backend through the top-level CMakeLists needs (no models, docs, tools).
git -C "$tmp/llama.cpp" archive --format=tar HEAD -- CMakeLists.txt LICENSE licenses cmake ggml src include vendor common \
  | xz -T2 -6 > "$out/llama.cpp.tar.xz"
git -C "$tmp/llama.cpp" rev-parse HEAD > "$out/llama.cpp.commit"
rm -rf "$tmp"

# 2. node_modules: the run-time closure of what the server, host and benchmarks import.
node --import tsx bench/gpu/nodeModulesClosure.ts node-llama-cpp tsx vscode-languageserver-protocol \
  vscode-languageserver-textdocument vscode-jsonrpc > "$out/closure.txt"
# Nested folders travel with their parent.
awk '{ for (i in seen) if (index($0, i "/") == 1) next; seen[$0] = 1; print }' "$out/closure.txt" > "$out/roots.txt"
tar -cf - --exclude='node_modules/node-llama-cpp/llama/gitRelease.bundle' \
  --exclude='node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so' \
  -T "$out/roots.txt" | xz -T2 -6 > "$out/node_modules.tar.xz"

# 3. Node: this machine's binary, stripped (it needs only glibc 2.28).
mkdir -p "$tmp/node/bin"
cp "$(command -v node)" "$tmp/node/bin/node"
strip --strip-all "$tmp/node/bin/node"
tar -C "$tmp/node" -cf - bin | xz -T2 -6 > "$out/node.tar.xz"
rm -rf "$tmp"

# 4. The built extension (server, host) and the benchmarks' direct engine.
node --import tsx -e "require('./bench/lib/buildWorker').buildEngineWorker()"
tar -cf - dist/server.js dist/host.js dist/downloadWorker.js dist/bench/engineWorker.js | xz -T2 -6 > "$out/dist.tar.xz"

# The GPU machine gets a copy without .git: tell the results which commit they measured.
git rev-parse HEAD > "$out/commit"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then echo 1 > "$out/dirty"; else echo 0 > "$out/dirty"; fi

ls -la "$out"
du -sb "$out" | awk '{ printf "total %.1f MiB\n", $1 / 1048576 }'
