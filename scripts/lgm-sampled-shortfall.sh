#!/usr/bin/env bash
# scripts/lgm-sampled-shortfall.sh -- how far sampled completion (Monte-Carlo
# EM) ends below exact EM, by the number of draws J: the figures of
# docs/lgm.md ("Exact vs sampled completion").
#
#   scripts/lgm-sampled-shortfall.sh [SEEDS [J...]]     (default 20; 1 3 10 30 100)
#
# On the bundled digits as the lab runs them (k = 2, --split 0.2, labels in
# the last column): exact EM's converged training ll/N, then for each J and
# seed 1..SEEDS the final training ll/N of lgm_em --completion sampled
# --samples J.  Prints, for each J, the shortfall (exact - sampled, nats per
# sample): its mean and standard deviation over the seeds, and the mean gap
# between the trace's ll_exact_em and ll_train over iterations >= 30 (the
# stationary part).  BIN: the programs (default build/bin).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$here/build/bin}
seeds=${1:-20}
shift || true
js=("$@")
[ ${#js[@]} -gt 0 ] || js=(1 3 10 30 100)
data=(--label-col last --split 0.2 "$here/data/digits.csv")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$BIN/lgm_em" -k 2 -q -o "$tmp/exact" "${data[@]}" >/dev/null
# the ll_train column of a summary, found by name
ll_train() { awk -F'\t' 'NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == "ll_train") c = i; next } { print $c }' "$1"; }
exact=$(ll_train "$tmp/exact.summary.tsv")
echo "exact EM, converged: ll/N train $exact (k = 2, digits, --split 0.2)"
printf '%5s %12s %12s %14s %8s\n' J "shortfall" "sd (seeds)" "stationary gap" iters
for j in "${js[@]}"; do
  for s in $(seq 1 "$seeds"); do
    "$BIN/lgm_em" -k 2 --completion sampled --samples "$j" --seed "$s" -q -o "$tmp/s" "${data[@]}" >/dev/null
    sampled=$(ll_train "$tmp/s.summary.tsv")
    awk -v e="$exact" -v x="$sampled" '
      NR == 1 { for (i = 2; i <= NF; i++) c[$i] = i - 1; next }
      $(c["iter"]) >= 30 { g += $(c["ll_exact_em"]) - $(c["ll_train"]); n++ }
      END { printf "%.17g %.17g %d\n", e - x, n ? g / n : "nan", $(c["iter"]) }' "$tmp/s.trace.dat"
  done | awk -v j="$j" '
    { s += $1; q += $1 * $1; g += $2; it += $3; n++ }
    END { m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0
          printf "%5d %12.2e %12.2e %14.2e %8.0f\n", j, m, sd, g / n, it / n }'
done
