#!/usr/bin/env bash
# The fine-tuning path on CUDA, as one prepared check for when a GPU machine is at hand: the
# per-layer hidden states of every family against the reference fixtures, cached and uncached
# `--last-layers` fine-tuning, and one fine-tuning step against PyTorch on the same GPU.
#
#   bash benches/gpu_check.sh build   # here, no GPU needed: the CUDA build into bench-out/gpu
#   bash benches/gpu_check.sh run     # on the GPU machine, with bench-out/gpu carried there
#
# build: benches/cuda_build.sh (CUDA 13.0 wheels from PyPI, nvcc) builds with --features cuda
#   the tests layer_split and frozen_cache and the bench finetune_step; their stripped
#   binaries go to bench-out/gpu/bin, and what they read from the shared folder (the parity
#   fixtures, the prom_core_notata CSVs) to bench-out/gpu/shared. Keep the folder under the
#   device tool's 64 MiB; the script prints its size.
# run: needs no Rust and no network. The CUDA libraries come from python3's nvidia/cu13 wheels
#   (PyTorch's own); the tests run with GENOVEC_SHARED=bench-out/gpu/shared (both models and
#   expected tensors on the GPU: `default_device()` is CUDA in this build); then
#   make_random_checkpoints.py writes the real-size checkpoints (numpy, safetensors) and
#   finetune_step times genovec and PyTorch (--device cuda) for each model. Everything goes to
#   $OUT (default bench-out/gpu/out): check.log and finetune_step_gpu.jsonl.
#
# Status: written without a GPU at hand; the CPU parts of both commands ran here, the CUDA
# parts have not run yet.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"
gpu="$root/bench-out/gpu"
models="${MODELS:-hyenadna_tiny_1k nt_v2_50m dnabert2_117m}"

build() {
    local shared="${GENOVEC_SHARED:-$root/../shared}"
    bash "$here/cuda_build.sh" --tests --benches
    rm -rf "$gpu/bin" "$gpu/shared"
    mkdir -p "$gpu/bin" "$gpu/shared/fixtures/models" "$gpu/shared/datasets/gue/prom"
    # shellcheck disable=SC1091 # the toolkit folder cuda_build.sh made
    local exes
    exes="$(CUDA_ROOT=/tmp/cuda-root PATH="/tmp/cuda-root/bin:$PATH" cargo test --release \
        --features cuda --no-run --test layer_split --test frozen_cache --message-format=json \
        2>/dev/null | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])')"
    exes="$exes
$(CUDA_ROOT=/tmp/cuda-root PATH="/tmp/cuda-root/bin:$PATH" cargo bench --features cuda \
        --bench finetune_step --no-run --message-format=json 2>/dev/null | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])')"
    for exe in $exes; do
        name="$(basename "$exe" | sed 's/-[0-9a-f]*$//')"
        strip -o "$gpu/bin/$name" "$exe"
    done
    for m in dnabert2_tiny nt_v1_tiny nt_v2_tiny hyenadna_tiny; do
        cp -r "$shared/fixtures/models/$m" "$gpu/shared/fixtures/models/"
    done
    cp -r "$shared/datasets/gue/prom/prom_core_notata" "$gpu/shared/datasets/gue/prom/"
    ls -l "$gpu/bin"
    du -sh "$gpu"
}

run() {
    local out="${OUT:-$gpu/out}"
    mkdir -p "$out"
    local cu13
    cu13="$(python3 -c 'import os, nvidia; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))')"
    export LD_LIBRARY_PATH="$cu13:${LD_LIBRARY_PATH:-}"
    export GENOVEC_SHARED="$gpu/shared"
    nvidia-smi -L | tee "$out/check.log"
    for t in layer_split frozen_cache; do
        "$gpu/bin/$t" --include-ignored 2>&1 | tee -a "$out/check.log"
    done
    python3 "$here/make_random_checkpoints.py" --fixtures "$gpu/shared/fixtures/models" \
        --out /tmp/checkpoints | tee -a "$out/check.log"
    local raw="$out/finetune_step_gpu.jsonl"
    : >"$raw"
    for m in $models; do
        case "$m" in dnabert2*) f=dnabert2 ;; nt*) f=nt ;; *) f=hyenadna ;; esac
        "$gpu/bin/finetune_step" --family "$f" --dir "/tmp/checkpoints/$m" \
            --dump-tokens "/tmp/$m.tokens.json"
        "$gpu/bin/finetune_step" --family "$f" --dir "/tmp/checkpoints/$m" --name "$m" \
            --steps 10 >>"$raw"
        python3 "$here/finetune_step_torch.py" --model "$f" --dir "/tmp/checkpoints/$m" \
            --tokens "/tmp/$m.tokens.json" --name "$m" --steps 10 --device cuda >>"$raw"
    done
    cat "$raw" | tee -a "$out/check.log"
}

case "${1:-}" in
    build) build ;;
    run) run ;;
    *) echo "usage: bash benches/gpu_check.sh build|run" >&2; exit 2 ;;
esac
