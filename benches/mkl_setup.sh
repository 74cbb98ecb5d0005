#!/usr/bin/env bash
# Intel MKL from PyPI for genovec's opt-in `mkl` feature (candle's matmuls through MKL sgemm).
#
#   eval "$(bash benches/mkl_setup.sh)"
#   cargo build --release --features mkl
#
# candle-core pins intel-mkl-src 0.8.1 with `mkl-static-lp64-iomp`, whose build script
# (intel-mkl-tool) first asks pkg-config for `mkl-static-lp64-iomp`, then walks $MKLROOT for
# mkl.h, libmkl_intel_lp64.a, libmkl_intel_thread.a, libmkl_core.a and libiomp5.{a,so}, and
# only then tries to download MKL from ghcr.io (unreachable here). The PyPI wheels below put
# exactly those files into the venv's include/ and lib/, so MKLROOT=<venv> is all it needs.
# MKL itself is linked statically. intel-mkl-tool emits a plain `-l iomp5`, so the linker takes
# intel-openmp's shared libiomp5.so (it sits next to libiomp5.a); genovec's build.rs bakes an
# rpath to $MKLROOT/lib into its binaries, tests and benches, so they run without
# LD_LIBRARY_PATH (but need that folder at run time).
#
# Prints the `export` line the build needs on stdout; everything else goes to stderr.
# Re-runnable: an existing venv with the pinned versions is kept (about 0.9 GB; pip also pulls
# tbb and intel-cmplr-lib-ur, unused). Knobs: MKL_VENV (/tmp/mklvenv), MKL_VERSION (2024.2.0,
# the MKL version PyTorch 2.15's CPU wheel reports), OMP_VERSION (intel-openmp, 2024.2.0).
set -euo pipefail

venv="${MKL_VENV:-/tmp/mklvenv}"
mkl_version="${MKL_VERSION:-2024.2.0}"
omp_version="${OMP_VERSION:-2024.2.0}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "mkl-static==$mkl_version" "mkl-include==$mkl_version" "intel-openmp==$omp_version" >&2

for f in include/mkl.h lib/libmkl_intel_lp64.a lib/libmkl_intel_thread.a lib/libmkl_core.a \
    lib/libiomp5.so; do
    [ -e "$venv/$f" ] || { echo "mkl_setup.sh: $venv/$f missing after pip install" >&2; exit 1; }
done
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
    grep -i -E '^(mkl|intel|tbb)' >&2 || true

echo "export MKLROOT=$venv"
