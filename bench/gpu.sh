#!/usr/bin/env bash
# 6. The memory and wake benchmarks on a CUDA machine, through the real server and model host,
# with VRAM per process from nvidia-smi.
#
# node-llama-cpp 3.21.1's prebuilt CUDA library aborts on Hopper with driver 580 ("the provided
# PTX was compiled with an unsupported toolchain") and is 159 MB, over one 64 MiB transfer. So
# this script builds ggml's CUDA backend from the llama.cpp source that node-llama-cpp ships, for
# this GPU's architecture only, and swaps it into the CUDA package (node-llama-cpp loads its
# backends as modules, so one module can be replaced).
#
# Prepare on a machine with the repository: `npm run build && bench/gpu/prepare.sh` (fills .gpu/,
# about 40 MiB). Then run this from the repository root on the CUDA machine, .gpu/ beside it.
# Needs nvcc, cmake, ninja and the cuBLAS libraries (found in the Python environment's
# nvidia/cu13/lib, or set CUDA_LIB_DIR). Results: bench/results/{memory,wake}-cuda.json, copied
# with the log to $OUT when set. A libggml-cuda.so in .gpu/ from an earlier run skips the build.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gpu_dir=$root/.gpu
out=${OUT:-$gpu_dir/out}
mkdir -p "$out"
exec > >(tee -a "$out/gpu.log") 2>&1
step() { echo "== [gpu.sh +${SECONDS}s] $*"; }
fail() { echo "gpu.sh: $*" >&2; exit 1; }

# GPU_SH_CONFIGURE_ONLY=1 stops after the CMake configure: a check of this script on a machine
# without a GPU (with CUDA_ARCH, CUDA_LIB_DIR and CUDA_DRIVER_LIB set).
configure_only=${GPU_SH_CONFIGURE_ONLY:-0}

step "machine"
if ! nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv; then
  [ "$configure_only" = 1 ] || fail "nvidia-smi does not answer: no usable NVIDIA GPU here."
fi
arch=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')}
jobs=$(nproc)
echo "architecture sm_$arch, $jobs cores"

step "unpack node, node_modules and dist"
for f in node.tar.xz node_modules.tar.xz dist.tar.xz; do [ -f "$gpu_dir/$f" ] || fail "$gpu_dir/$f is missing; run bench/gpu/prepare.sh first."; done
mkdir -p /tmp/gpu-node && tar -xJf "$gpu_dir/node.tar.xz" -C /tmp/gpu-node || fail "cannot unpack node"
export PATH=/tmp/gpu-node/bin:$PATH
tar -xJf "$gpu_dir/node_modules.tar.xz" || fail "cannot unpack node_modules"
tar -xJf "$gpu_dir/dist.tar.xz" || fail "cannot unpack dist"
node --version || fail "the carried node does not run here"

step "CUDA libraries"
lib_dir=${CUDA_LIB_DIR:-$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null || true)}
if [ ! -e "$lib_dir/libcublas.so.13" ]; then
  lib_dir=$(dirname "$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -1)")
fi
[ -e "$lib_dir/libcublas.so.13" ] || fail "cuBLAS (libcublas.so.13) not found; set CUDA_LIB_DIR."
driver_lib=${CUDA_DRIVER_LIB:-$(ls /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 2>/dev/null | head -1)}
[ -n "$driver_lib" ] || fail "libcuda.so.1 (the driver) not found."
links=/tmp/gpu-cuda-links
mkdir -p "$links"
ln -sf "$lib_dir/libcublas.so.13" "$links/libcublas.so"
ln -sf "$lib_dir/libcublasLt.so.13" "$links/libcublasLt.so"
ln -sf "$lib_dir/libcudart.so.13" "$links/libcudart.so"
ln -sf "$driver_lib" "$links/libcuda.so"
echo "cuBLAS and cudart from $lib_dir, driver $driver_lib"
export LD_LIBRARY_PATH=$lib_dir:$links:${LD_LIBRARY_PATH:-}

cuda_pkg=node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
built=$gpu_dir/libggml-cuda.so
if [ -f "$built" ]; then
  step "using the libggml-cuda.so built by an earlier run"
else
  step "build ggml-cuda for sm_$arch"
  src=/tmp/gpu-llama.cpp
  rm -rf "$src" && mkdir -p "$src" && tar -xJf "$gpu_dir/llama.cpp.tar.xz" -C "$src" || fail "cannot unpack the llama.cpp source"
  nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  # cuBLAS headers normally sit with the toolkit's; else take the Python environment's.
  extra_flags=()
  toolkit_include=$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")/include
  if [ ! -f "$toolkit_include/cublas_v2.h" ] && [ -f "$lib_dir/../include/cublas_v2.h" ]; then
    extra_flags=(-DCMAKE_CUDA_FLAGS="-I$(readlink -f "$lib_dir/../include")" -DCMAKE_CXX_FLAGS="-I$(readlink -f "$lib_dir/../include")")
    echo "cuBLAS headers from $lib_dir/../include"
  fi
  cmake -S "$src" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_COMPILER="$nvcc_path" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DGGML_CUDA=ON -DGGML_BACKEND_DL=ON -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=OFF -DGGML_CUDA_NCCL=OFF \
    -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DCUDA_cublas_LIBRARY="$links/libcublas.so" -DCUDA_cublasLt_LIBRARY="$links/libcublasLt.so" \
    -DCUDA_cudart_LIBRARY="$links/libcudart.so" -DCUDA_cuda_driver_LIBRARY="$links/libcuda.so" "${extra_flags[@]}" \
    > /tmp/gpu-cmake.log 2>&1 || { tail -60 /tmp/gpu-cmake.log; fail "cmake configure failed."; }
  grep -E "CUDA|cuBLAS|cublas" /tmp/gpu-cmake.log
  if [ "$configure_only" = 1 ]; then step "configured (GPU_SH_CONFIGURE_ONLY)"; exit 0; fi
  cmake --build "$src/build" --target ggml-cuda -j "$jobs" > /tmp/gpu-build.log 2>&1 || { grep -B2 -A12 -m3 "error" /tmp/gpu-build.log | head -80; tail -20 /tmp/gpu-build.log; fail "the ggml-cuda build failed."; }
  so=$(find "$src/build" -name 'libggml-cuda.so' | head -1)
  [ -n "$so" ] || fail "the build made no libggml-cuda.so"
  cp "$so" "$built"
  ls -la "$built"
  # Keep the library for a rerun that skips the build (parts fit the 16 MiB limit per file).
  xz -T0 -6 -c "$built" | split -b 15M - "$out/libggml-cuda.so.xz.part-"
  ls -la "$out"/libggml-cuda.so.xz.part-*
fi
cp "$built" "$cuda_pkg/libggml-cuda.so"

step "generate the large test model"
model=$(node --import tsx test/fixtures/models.ts large) || fail "cannot generate the model"

step "check that node-llama-cpp loads and decodes on CUDA"
if ! node --import tsx bench/gpu/cudaCheck.ts "$model"; then
  echo "libraries of $cuda_pkg/libggml-cuda.so that do not resolve:"
  ldd "$cuda_pkg/libggml-cuda.so" | grep -i "not found" || echo "(none)"
  fail "node-llama-cpp cannot run the model on CUDA here."
fi

export BENCH_GPU=cuda
export BENCH_COMMIT=$(cat "$gpu_dir/commit" 2>/dev/null || echo unknown)
export BENCH_DIRTY=$(cat "$gpu_dir/dirty" 2>/dev/null || echo 0)
export BENCH_THREADS=${BENCH_THREADS:-0}
export BENCH_WAKE_REPS=${BENCH_WAKE_REPS:-3}
# The whole script must end inside one device command (10 minutes there); each benchmark gets
# what is left of GPU_SH_BUDGET_S, at most 240 s.
budget=${GPU_SH_BUDGET_S:-540}
status=0
for name in memory wake; do
  left=$((budget - SECONDS - 10))
  [ "$left" -gt 240 ] && left=240
  if [ "$left" -lt 30 ]; then echo "no time left for benchmark $name"; status=1; continue; fi
  step "benchmark $name (at most ${left}s)"
  timeout "$left" node --import tsx bench/run.ts "$name" || { echo "benchmark $name failed or timed out"; status=1; }
  cp bench/results/"$name"-cuda.json "$out/" 2>/dev/null || true
done
nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv || true
step "done (status $status)"
exit $status
