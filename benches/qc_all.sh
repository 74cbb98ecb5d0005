#!/usr/bin/env bash
# `genovec qc` on every dataset in the shared folder: the training split (or dev, where GUE
# ships no training split) against the test split, or one file alone where there is no pair.
# Writes OUT/NAME.json per dataset and prints a Markdown table of the findings (QC.md's).
#
#   bash benches/qc_all.sh [SHARED]        (default ../shared)
#   env: BIN=target/release/genovec OUT=bench-out/qc
set -euo pipefail

shared="${1:-../shared}"
data="$shared/datasets"
bin="${BIN:-target/release/genovec}"
out="${OUT:-bench-out/qc}"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# NAME TRAIN [TEST] [extra qc arguments...]
qc() {
    local name="$1" train="$2" test="$3"; shift 3
    local args=(qc --train "$train" --json)
    [ -n "$test" ] && args+=(--test "$test")
    "$bin" "${args[@]}" "$@" > "$out/$name.json" 2> "$tmp/err" ||
        { echo "$name: $(tail -1 "$tmp/err")" >&2; rm -f "$out/$name.json"; }
}

for t in prom_core_all prom_core_notata prom_core_tata prom_300_tata; do
    qc "gue_$t" "$data/gue/prom/$t/train.csv" "$data/gue/prom/$t/test.csv"
done
for t in prom_300_all prom_300_notata; do
    qc "gue_$t (dev)" "$data/gue/prom/$t/dev.csv" "$data/gue/prom/$t/test.csv"
done
for d in "$data"/gue/EMP/*/; do
    m="$(basename "$d")"
    qc "gue_EMP_$m (dev)" "$d/dev.csv" "$d/test.csv"
done
qc "gue_splice (dev)" "$data/gue/splice/reconstructed/dev.csv" "$data/gue/splice/reconstructed/test.csv"
qc "gb_human_nontata_promoters (test only)" "$data/genomic_benchmarks/human_nontata_promoters/test.csv" "" \
    --seq-column seq
e="$data/genomic_benchmarks/human_enhancers_cohn/subset_genbenchqc"
qc "gb_human_enhancers_cohn (subset)" "$e/enhancers_train.csv" "$e/enhancers_test.csv"
# UCI promoters has no header and tabs before its lowercase sequences.
awk -F, 'BEGIN {print "label,name,sequence"} {gsub(/[ \t]/, "", $3); print $1","$2","$3}' \
    "$data/uci_promoters/promoters.data" > "$tmp/uci_promoters.csv"
qc "uci_promoters" "$tmp/uci_promoters.csv" ""
awk -F, 'NR == 1 {print; next} {gsub(/ /, ""); print}' "$data/uci_splice/splice.csv" \
    > "$tmp/uci_splice.csv"
qc "uci_splice" "$tmp/uci_splice.csv" ""
for f in "$data"/toy_subsamples_ai4h/*.tsv; do
    qc "toy_$(basename "$f" .tsv) (all tasks pooled)" "$f" ""
done

python3 - "$out" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
print("| dataset | train / test records | exact dup. within train / test | rev.-comp. dup. within train | records with a near-dup. within train / test | exact dup. across | rev.-comp. dup. across | test records with a near-dup. in train | label conflicts: sequences / near-dup. pairs | composition twins (pairs) |")
print("|---|---|---|---|---|---|---|---|---|---|")
risks = []
for name in sorted(os.listdir(out)):
    if not name.endswith(".json"):
        continue
    r = json.load(open(os.path.join(out, name)))
    tr, te = r["train"], r.get("test")
    sizes = f'{tr["records"]} / {te["records"]}' if te else f'{tr["records"]} / -'
    within = f'{tr["exact_duplicates_within"]} / {te["exact_duplicates_within"]}' if te else f'{tr["exact_duplicates_within"]} / -'
    pct = lambda n, of: f'{n} ({100 * n / of:.1f}%)'
    near_within = pct(tr["near_duplicates_within"], tr["records"])
    near_within += f' / {pct(te["near_duplicates_within"], te["records"])}' if te else ' / -'
    if te:
        near = r["near_duplicates_across"]
        across = (r["exact_duplicates_across"], r["reverse_complement_duplicates_across"],
                  f'{near} ({100 * near / te["records"]:.1f}%)')
    else:
        across = ("-", "-", "-")
    print(f'| {name[:-5]} | {sizes} | {within} | {tr["reverse_complement_duplicates_within"]} | {near_within} | {across[0]} | {across[1]} | {across[2]} | {r["label_conflicts"]} / {r["near_duplicate_label_conflicts"]} | {r["composition_twins"]} |')
    if r.get("shortcuts"):
        risks.append((name[:-5], r["shortcuts"]))
print()
print("| dataset | CV records | majority | length alone | GC alone | dinucleotide alone | full pipeline |")
print("|---|---|---|---|---|---|---|")
for name, s in risks:
    fam = {f["family"]: f for f in s["families"]}
    cell = lambda f: f'{fam[f]["accuracy"]:.3f} ({fam[f]["risk"]})'
    print(f'| {name} | {s["records"]} | {s["majority"]:.3f} | {cell("length")} | {cell("gc")} | {cell("dinucleotide")} | {s["full_pipeline"]:.3f} |')
PYEOF
