#!/usr/bin/env bash
# bench/rbm_defaults.sh -- the table of docs/rbm.md, "Defaults": rbm_cd's
# exact held-out log-likelihood (nats per sample) at epochs 0, 4, 8, ...,
# EPOCHS of CD-1 and PCD-1, with the defaults, with the defaults rbm_cd had
# before PCD got its own, and with other settings, on the bundled digits
# (--scale 16, binarised at 0.5, a fixed 20 % held out) and on Fashion-MNIST
# (binarised at 0.5, its own test set), H = 16 (exact log-likelihood every
# epoch).  Every number comes from a run of build/bin/rbm_cd made here.
#
#   bench/rbm_defaults.sh [digits] [fashion]     (default: both)
#
# Environment: BIN (programs, default build/bin), FASHION (the directory of
# the Fashion-MNIST IDX files, default /usr/share/datasets/fashion-mnist:
# apt-get install dataset-fashion-mnist), EPOCHS (default 20), THREADS
# (default 2), SEED (default 1), OUT (the runs' files, default a temporary
# directory, removed at the end).  About 10 s on the digits and 5 minutes on
# Fashion-MNIST on 2 cores.  The likelihoods do not depend on timing; they
# depend on the seed and the thread count, and may differ in the last digits
# with another BLAS kernel (the order of its float sums).
#
# Columns: the held-out ll at the epochs, the best epoch's, how far the last
# epoch ends below it, and the largest fall from one epoch to the next (the
# end-of-run note names falls of more than 2 nats).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../build/bin}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-20}
THREADS=${THREADS:-2}
SEED=${SEED:-1}
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(digits fashion)
[ -x "$BIN/rbm_cd" ] || { echo "rbm_defaults: $BIN/rbm_cd not found: build first (make)" >&2; exit 1; }
if [ -z "${OUT:-}" ]; then
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"

# the runs: a label, then rbm_cd's options (besides the data and H = 16)
runs_common=(
  "CD-1, defaults|"
  "CD-1, --lr 0.01 --batch 100|--lr 0.01 --batch 100"
  "PCD-1, defaults|--pcd"
  "PCD-1, the former defaults (--lr 0.1 --batch 20 --momentum 0.5, constant)|--pcd --lr 0.1 --batch 20 --momentum 0.5 --lr-decay none"
  "PCD-1, --lr 0.01 --batch 100, constant|--pcd --lr 0.01 --batch 100 --lr-decay none"
)
runs_digits=("PCD-1, --batch 20 --lr 0.1 --momentum 0.5 (linear decay)|--pcd --batch 20 --lr 0.1 --momentum 0.5")
runs_fashion=("PCD-1, --lr 0.05 (batch 100, linear decay)|--pcd --lr 0.05")

epoch_cols=$(seq 0 4 "$EPOCHS" | tr '\n' ' ')
cpu=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
blas=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' 'libopenblas0*' 2>/dev/null |
       awk '$1 == "ii" { s = s (s ? ", " : "") $2 " " $3 } END { print s }' || true)
core=$(OPENBLAS_VERBOSE=2 "$BIN/rbm_cd" --version 2>&1 | sed -n 's/^Core: //p' | head -1)
echo "rbm_defaults: H = 16, $EPOCHS epochs, seed $SEED, $THREADS threads; $(nproc) cores, ${cpu:-unknown CPU}; ${blas:-BLAS unknown}${core:+, OpenBLAS kernel $core}"

for set in "${sets[@]}"; do
  case $set in
  digits) data=(--label-col last --scale 16 --split 0.2 "$here/../data/digits.csv")
          runs=("${runs_common[@]}" "${runs_digits[@]}") ;;
  fashion) [ -r "$FASHION/train-images-idx3-ubyte.gz" ] ||
             { echo "rbm_defaults: no Fashion-MNIST in $FASHION (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
           data=(--test "$FASHION/t10k-images-idx3-ubyte.gz" "$FASHION/train-images-idx3-ubyte.gz")
           runs=("${runs_common[@]}" "${runs_fashion[@]}") ;;
  *) echo "rbm_defaults: unknown data set '$set' (digits, fashion)" >&2; exit 1 ;;
  esac
  echo
  echo "$set: exact held-out log-likelihood (nats per sample) by epoch"
  echo
  printf '| run |'; for e in $epoch_cols; do printf ' %s |' "$e"; done
  printf ' best (epoch) | last below best | largest fall |\n'
  printf '|---|'; for e in $epoch_cols; do printf -- '---|'; done; printf -- '---|---|---|\n'
  i=0
  for r in "${runs[@]}"; do
    label=${r%%|*} args=${r#*|}
    i=$((i + 1))
    pre=$OUT/$set-$i
    # shellcheck disable=SC2086 # args: words of options
    "$BIN/rbm_cd" --hidden 16 --epochs "$EPOCHS" --seed "$SEED" --threads "$THREADS" --monitor 0 \
      --n-samples 0 -q $args -o "$pre" "${data[@]}" >"$pre.log" 2>&1 ||
      { cat "$pre.log" >&2; echo "rbm_defaults: run '$label' failed" >&2; exit 1; }
    awk -v label="$label" -v cols="$epoch_cols" '
      NR == 1 { for (i = 2; i <= NF; i++) if ($i == "ll_test") c = i - 1; next }
      { e = $1; x = $c; ll[e] = x
        if (NR == 2 || x > best) { best = x; be = e }
        if (NR > 2 && p - x > fall) { fall = p - x; fe = e }
        p = x; last = x }
      END {
        printf "| %s |", label
        n = split(cols, E, " ")
        for (k = 1; k <= n; k++) printf " %.1f |", ll[E[k]]
        printf " %.1f (%d) | %.1f |", best, be, best - last
        if (fall >= 0.05) printf " %.1f (%d -> %d) |\n", fall, fe - 1, fe; else printf " - |\n"
      }' "$pre.trace.dat"
  done
done
