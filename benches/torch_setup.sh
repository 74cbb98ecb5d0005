#!/usr/bin/env bash
# Create (or reuse) the Python virtual environment for the PyPI PyTorch baseline of
# benches/model_throughput.sh (torch, transformers, safetensors, tokenizers, numpy).
#
#   bash benches/torch_setup.sh            # venv at $TORCH_VENV (default /tmp/torchvenv)
#
# Idempotent: the venv is created only when missing, and pip runs only when the packages are
# not importable yet. It uses the CPU-only wheel index https://download.pytorch.org/whl/cpu
# when that answers (a ~200 MB wheel); otherwise PyPI, whose Linux torch wheel pulls the CUDA
# runtime wheels (several GB), so free disk is checked first.
set -euo pipefail

venv="${TORCH_VENV:-/tmp/torchvenv}"
py="${PYTHON:-python3}"
need_gb="${TORCH_NEED_GB:-12}"
check='import torch, transformers, safetensors, tokenizers, numpy'

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    echo "torch venv ready at $venv"
else
    parent="$(dirname "$venv")"
    mkdir -p "$parent"
    free_gb=$(df -Pk "$parent" | awk 'NR==2 {print int($4 / 1048576)}')
    echo "free disk at $parent: ${free_gb} GB (need about ${need_gb} GB for the PyPI CUDA wheels)"
    cpu_index=https://download.pytorch.org/whl/cpu
    if curl -s -o /dev/null --max-time 15 -f "$cpu_index/torch/"; then
        index_args=(--index-url "$cpu_index" --extra-index-url https://pypi.org/simple)
        echo "using the CPU wheel index $cpu_index"
    else
        if [ "$free_gb" -lt "$need_gb" ]; then
            echo "error: $cpu_index is unreachable and only ${free_gb} GB are free;" \
                 "PyPI's torch needs about ${need_gb} GB (set TORCH_VENV elsewhere)" >&2
            exit 1
        fi
        index_args=()
        echo "the CPU wheel index is unreachable: using PyPI (large CUDA wheels)"
    fi
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "${index_args[@]}" torch
    "$venv/bin/python" -m pip install --quiet transformers safetensors tokenizers numpy
fi

"$venv/bin/python" - <<'PY'
import sys, torch, transformers, safetensors, tokenizers, numpy
print("python", sys.version.split()[0], "torch", torch.__version__, "transformers",
      transformers.__version__, "safetensors", safetensors.__version__, "tokenizers",
      tokenizers.__version__, "numpy", numpy.__version__)
PY
