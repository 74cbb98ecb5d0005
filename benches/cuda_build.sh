#!/usr/bin/env bash
# Build genovec with `--features cuda` on a machine with no GPU and no system CUDA toolkit,
# using NVIDIA's CUDA 13.0 wheels from PyPI (no root, no apt). Re-runnable.
#
#   benches/cuda_build.sh            # cargo build --release --features cuda
#   benches/cuda_build.sh --tests    # extra arguments go to cargo build
#
# Why CUDA 13.0: the CUDA 12 nvcc wheel (nvidia-cuda-nvcc-cu12) ships only ptxas, no nvcc or
# cicc. The CUDA 13 wheels all install into one tree, site-packages/nvidia/cu13/{bin,include,
# lib,nvvm}, with a working nvcc. 13.0 also matches a driver 580 (CUDA 13.0) machine: PTX
# from a newer nvcc would not load on an older driver.
#
# The binary links libcuda.so.1 (the driver), libcudart.so.13, libcublas.so.13 and
# libcurand.so.10 dynamically (candle turns on cudarc's `dynamic-linking`), so it only starts
# where those load: on a GPU machine set LD_LIBRARY_PATH to a folder holding the CUDA 13
# libraries (e.g. $CUDA_ROOT_DIR/lib here, or a PyTorch cu130 install's nvidia/cu13/lib).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${CUDA_VENV:-/tmp/cudavenv}            # where the wheels go (about 1.2 GB)
CUDA_ROOT_DIR=${CUDA_ROOT_DIR:-/tmp/cuda-root} # merged toolkit folder of symlinks
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
# No GPU to ask (cudaforge would run nvidia-smi): 90 = H100/H200 (nvcc emits sm_90a PTX).
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
# nvcc jobs candle-kernels' build script runs at once.
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-2}

# 1. The toolkit pieces, pinned to CUDA 13.0.
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-cccl==13.0.85 \
    nvidia-cublas==13.1.0.3 nvidia-curand==10.4.0.35
CU13=$("$VENV/bin/python" -c 'import os, nvidia; print(os.path.join(nvidia.__path__[0], "cu13"))')
"$CU13/bin/nvcc" --version | tail -1

# 2. CUDA_ROOT: bin, include and nvvm straight from the wheels; lib with the unversioned
#    names the linker asks for (-lcudart, -lcublas, ...), and lib/stubs/libcuda.so.
if [ -e "$CUDA_ROOT_DIR" ] && [ ! -e "$CUDA_ROOT_DIR/lib/stubs/cuda_stub.c" ]; then
    echo "$CUDA_ROOT_DIR exists and was not made by this script; set CUDA_ROOT_DIR" >&2; exit 1
fi
rm -rf "$CUDA_ROOT_DIR"
mkdir -p "$CUDA_ROOT_DIR/lib/stubs"
for d in bin include nvvm; do ln -s "$CU13/$d" "$CUDA_ROOT_DIR/$d"; done
for f in "$CU13"/lib/*; do ln -s "$f" "$CUDA_ROOT_DIR/lib/"; done
for f in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13; do
    ln -s "$f" "$CUDA_ROOT_DIR/lib/${f%%.so.*}.so"
done
ln -s lib "$CUDA_ROOT_DIR/lib64"

# libcuda.so comes with the driver, not with any wheel. Link against a stub with the same
# soname (libcuda.so.1) that defines every driver function cudarc binds; at run time the real
# driver's libcuda.so.1 is used. Each stub function returns 100 (CUDA_ERROR_NO_DEVICE), so
# putting the stub on LD_LIBRARY_PATH (as libcuda.so.1) imitates "driver, but no GPU".
(cd "$REPO" && cargo fetch --quiet)
CUDARC_VER=$(grep -A1 '^name = "cudarc"' "$REPO/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')
CUDARC_SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$CUDARC_VER" | head -1)
grep -ohE 'pub unsafe fn cu[A-Za-z0-9_]+' "$CUDARC_SRC/src/driver/sys/mod.rs" | awk '{print $4}' \
    | sort -u | awk '{print "int " $1 "(void) { return 100; }"}' > "$CUDA_ROOT_DIR/lib/stubs/cuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CUDA_ROOT_DIR/lib/stubs/libcuda.so" \
    "$CUDA_ROOT_DIR/lib/stubs/cuda_stub.c"
ln -s libcuda.so "$CUDA_ROOT_DIR/lib/stubs/libcuda.so.1"

# 3. Build. nvcc on PATH (cudarc reads its version: CUDA 13.0 -> cuda-13000); cudarc looks
#    for libraries under each of CUDA_ROOT/CUDA_PATH/CUDA_HOME {lib,lib/stubs,lib64,...}.
export PATH="$CUDA_ROOT_DIR/bin:$PATH"
export CUDA_ROOT=$CUDA_ROOT_DIR CUDA_PATH=$CUDA_ROOT_DIR CUDA_HOME=$CUDA_ROOT_DIR
cd "$REPO"
time nice -n 10 cargo build --release --features cuda "$@"
echo "built in $CARGO_TARGET_DIR/release; to run here without a GPU:"
echo "  LD_LIBRARY_PATH=$CUDA_ROOT_DIR/lib:$CUDA_ROOT_DIR/lib/stubs $CARGO_TARGET_DIR/release/genovec demo"
