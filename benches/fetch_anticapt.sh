#!/usr/bin/env bash
# Fetches the trained HyenaDNA checkpoint of anticapt 1.0 (GPL-3.0, so never committed) for the
# parity test `parity_hyenadna_anticapt`, and prints the folder it is in.
#
#   benches/fetch_anticapt.sh [DEST]     # DEST defaults to target/anticapt/finetuned_hyenadna
#
# Idempotent: when DEST already holds config.json and pytorch_model.bin with the expected
# sha256 sums (see shared/fixtures/models/hyenadna_anticapt/README.md), nothing is downloaded.
# Then run: GENOVEC_ANTICAPT=DEST cargo test --release --test parity_hyenadna -- --include-ignored
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/target/anticapt/finetuned_hyenadna}"
inner="anticapt/models/dataset1/finetuned_hyenadna"
wheel_sha=55c934b43b1e14bcbcc623c072386decb446ca319220d43907136f5147476404
bin_sha=3ac8de259207c9f40a4685258900a2dff96d0e33cb698d204fa2350cdf28b34e
config_sha=cfed78d4111c6b7a5cebcba3e790a8b7f604c09c66c07f36914447c38577e435

sha() { sha256sum "$1" | cut -d' ' -f1; }

complete() {
    [[ -f "$dest/pytorch_model.bin" && -f "$dest/config.json" ]] &&
        [[ "$(sha "$dest/pytorch_model.bin")" == "$bin_sha" ]] &&
        [[ "$(sha "$dest/config.json")" == "$config_sha" ]]
}

if complete; then
    echo "$dest"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check anticapt==1.0 -d "$tmp" >&2
wheel="$(ls "$tmp"/anticapt-1.0-*.whl)"
if [[ "$(sha "$wheel")" != "$wheel_sha" ]]; then
    echo "fetch_anticapt: $wheel has an unexpected sha256; refusing to use it" >&2
    exit 1
fi
# A wheel is a zip; python3 unpacks it where `unzip` may be missing.
python3 - "$wheel" "$inner" "$tmp/unpacked" <<'PY'
import sys, zipfile
wheel, inner, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for name in ("config.json", "pytorch_model.bin"):
        z.extract(f"{inner}/{name}", out)
PY
mkdir -p "$dest"
for name in config.json pytorch_model.bin; do
    mv "$tmp/unpacked/$inner/$name" "$dest/$name"
done
if ! complete; then
    echo "fetch_anticapt: unpacked files in $dest do not match the expected sha256 sums" >&2
    exit 1
fi
echo "$dest"
