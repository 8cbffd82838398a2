#!/usr/bin/env bash
# scripts/lab.sh -- the lectures' whole progression on one data set, then every
# plot and one comparison table.  `make lab` runs it on the bundled digits;
# installed (cmake --install), it is `latent-zoo-lab`, run from any directory.
#
#   scripts/lab.sh [DATA [TEST]]     (installed: latent-zoo-lab [DATA [TEST]])
#   scripts/lab.sh --plots           print the directory of the plot scripts
#
# DATA: a data file (CSV/TSV/IDX, .gz or not; default data/digits.csv), or a
# directory holding train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz]
# (e.g. /usr/share/datasets/fashion-mnist).  TEST: a held-out file; without it
# a fixed 20 % of DATA is held out (--split 0.2).
#
# Environment: BIN (programs, default build/bin in the source tree, the
# installed bin/ beside this script when installed), OUT (output directory,
# default out), K (latent size, default 2, so latent spaces can be drawn),
# LABEL_COL (text data: label column, default "last" for the bundled digits,
# "none" otherwise), EPOCHS (VAE and RBM passes; default from the data size),
# THREADS (default 0: one per core); N_LABELS (labelled rows of M1 and M2,
# default 50), LABEL_EPOCHS (their epochs and the CVAE's, default from the
# data size); MISSING (the fraction of values blacked out for run 17,
# default 0.3; seeded, the same on every machine).
#
# The runs, in the order of the lectures:
#   1 gmm_em -K 10 --cov diag     the Gaussian mixture by EM (a discrete latent)
#   2 pca_iter                    PCA by iterative projection, scored as PPCA
#   3 gmm_em --k-range 1:20       the mixture on PCA's 2-D latent space: ellipses,
#                                 and ll train/test, BIC, AIC against K
#   4 lgm_em --completion exact   the LGM by EM, option 1 (one EM step a line)
#   5 lgm_em --completion sampled the LGM by EM, option 2 (Monte-Carlo EM)
#   6 nlgm_vae linear decoder     the VAE whose decoder is an LGM's
#   7 nlgm_vae MLP decoder        the non-linear Gaussian model
#   8 nlgm_vae Bernoulli          on the binarised data
#   9 rbm_cd                      CD-1 on the binarised data
#  10 rbm_cd --visible gaussian   CD-1 with Gaussian visible units on the standardised
#                                 data (continuous), its likelihood bracketed by
#                                 reverse AIS and AIS beside the exact value
#  11 nlgm_vae, reparameterised   the Bernoulli VAE of run 8 for a tenth of the
#     --grad-var 20               epochs, every gradient estimator's variance
#                                 measured after each epoch
#  12 nlgm_vae --estimator score  the same trained by the score function with
#                                 NVIL's baseline: the two loss curves
#  13 nlgm_vae --objective iwae   run 8 trained on the IWAE bound, K = 5
# and, when the data have labels (docs/vae_labels.md):
#  14 nlgm_cvae --semi-supervised M2 with N_LABELS labels (default 50)
#  15 nlgm_cvae --m1              M1 with the same labels
#  16 nlgm_cvae                   the conditional VAE: the class x style grid
#  17 lgm_em on blacked-out data  EM completing pixels missing at random (text
#                                 data: MISSING, default 0.3, of the values;
#                                 IDX data skip it)
# then plots/*.gp into OUT/, and OUT/compare.tsv, printed as a table (and the
# accuracies of M2, M1 and the regression on the labelled rows' pixels).
set -euo pipefail
export LC_ALL=C

# where the plots, the digits and compare-table.awk are: the source tree, or
# PREFIX/share/latent-zoo when installed as PREFIX/bin/latent-zoo-lab
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/share/latent-zoo/scripts/compare-table.awk" ]; then
  share=$here/share/latent-zoo
  BIN=${BIN:-$here/bin}
else
  share=$here
  BIN=${BIN:-$here/build/bin}
fi
if [ "${1:-}" = "--plots" ]; then
  echo "$share/plots"
  exit 0
fi
OUT=${OUT:-out}
K=${K:-2}
THREADS=${THREADS:-0}
MISSING=${MISSING:-0.3}
DATA=${1:-$share/data/digits.csv}
TEST=${2:-}

die() { echo "lab: $*" >&2; exit 1; }
for p in gmm_em pca_iter lgm_em nlgm_vae rbm_cd nlgm_cvae; do
  [ -x "$BIN/$p" ] || die "$BIN/$p not found: build first (make lab does)"
done
command -v gnuplot >/dev/null || die "gnuplot not found: run scripts/install-deps.sh"

# ---- inputs ---------------------------------------------------------------
find_idx() { # DIR STEM -> path of STEM-images-idx3-ubyte[.gz]
  for f in "$1/$2-images-idx3-ubyte.gz" "$1/$2-images-idx3-ubyte"; do
    [ -r "$f" ] && { echo "$f"; return; }
  done
  die "$1: no $2-images-idx3-ubyte[.gz]"
}
is_idx() { case $(basename "$1") in *idx[0-9]-ubyte*|*.idx|*.idx.gz) return 0;; esac; return 1; }

if [ -d "$DATA" ]; then
  [ -z "$TEST" ] || die "a directory DATA brings its own test set: drop TEST"
  train=$(find_idx "$DATA" train)
  test=$(find_idx "$DATA" t10k)
  data_args=("$train" --test "$test")
else
  [ -r "$DATA" ] || die "$DATA: cannot read"
  train=$DATA
  if [ -n "$TEST" ]; then
    [ -r "$TEST" ] || die "$TEST: cannot read"
    data_args=("$DATA" --test "$TEST")
  else
    data_args=("$DATA" --split 0.2)
  fi
fi
if is_idx "$train"; then
  LABEL_COL=none
elif [ -z "${LABEL_COL:-}" ]; then
  if [ "$(cd "$(dirname "$train")" && pwd)/$(basename "$train")" = "$share/data/digits.csv" ]; then
    LABEL_COL=last
  else
    LABEL_COL=none
  fi
fi
data_args+=(--label-col "$LABEL_COL" --threads "$THREADS")

# Size and range of text data (IDX grey levels are already in [0,1]): the
# Bernoulli VAE and the RBM need [0,1], so the data are divided by their
# maximum, then binarised at 1/2.
n_rows=60000
scale=1
if ! is_idx "$train"; then
  read -r n_rows scale < <(
    { case $train in *.gz) zcat "$train";; *) cat "$train";; esac; } |
    awk -v lc="$LABEL_COL" '
      /^[ \t]*(#|$)/ { next }
      { n = split($0, f, /[ \t]*[,\t][ \t]*|[ \t]+/)
        if (f[1] == "") { for (i = 1; i < n; i++) f[i] = f[i + 1]; n-- }
        if (!seen++ && f[1] !~ /^[-+.0-9]/) next   # a header line
        rows++
        skip = lc == "last" ? n : lc == "none" ? 0 : lc + 0
        for (i = 1; i <= n; i++) if (i != skip && f[i] + 0 > mx) mx = f[i] + 0 }
      END { if (mx <= 0) mx = 1; print rows, (mx <= 1 ? 1 : mx) }')
fi
if [ -z "${EPOCHS:-}" ]; then
  EPOCHS=$(( n_rows > 20000 ? 10 : 150 ))
fi

mkdir -p "$OUT"
steps=17
t_start=$(date +%s.%N)
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
step() { # N TITLE CMD...
  local n=$1 title=$2
  shift 2
  printf '\n=== [%d/%d] %s\n$ %s\n' "$n" "$steps" "$title" "$*"
  local t0 rc=0
  t0=$(date +%s.%N)
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || die "step $n ($title) failed with status $rc"
  printf '=== [%d/%d] done in %s s\n' "$n" "$steps" "$(since "$t0")"
}

echo "lab: $train (${n_rows} rows), latent size $K, $EPOCHS epochs for the VAE and the RBM; outputs in $OUT/"

# ---- the models, in the order of the lectures -----------------------------
# the mixture's floor on each Sigma_z: a tenth of each pixel's variance (with
# gmm_em's default 1e-6, pixels constant within a cluster make ll_test fall
# by orders of magnitude: a question of the handout)
step 1 "Gaussian mixture by EM: 10 components, diagonal covariances, one EM step a line" \
  "$BIN/gmm_em" -K 10 --cov diag --reg 0.1 --accel none "${data_args[@]}" -o "$OUT/gmm"
step 2 "PCA by iterative projection (scored as probabilistic PCA)" \
  "$BIN/pca_iter" -k "$K" "${data_args[@]}" -o "$OUT/pca"
# PCA's latent files carry the labels when the data have them
# (with class names too, the names are the labels and the codes are skipped)
pca_lab=(--label-col none)
head -n 1 "$OUT/pca.latent.dat" | grep -q ' label$' && pca_lab=(--label-col last)
head -n 1 "$OUT/pca.latent.dat" | grep -q ' label label_name$' &&
  pca_lab=(--label-col last --skip-col "$((K + 1))")
step 3 "Gaussian mixtures on PCA's latent space, K = 1..20: ll train/test, BIC, AIC" \
  "$BIN/gmm_em" --k-range 1:20 --tol 1e-5 -q "$OUT/pca.latent.dat" --test "$OUT/pca.latent_test.dat" \
  "${pca_lab[@]}" --threads "$THREADS" -o "$OUT/gmm-pca"
step 4 "LGM by EM, exact completion (option 1): one EM step a line" \
  "$BIN/lgm_em" -k "$K" --accel none "${data_args[@]}" -o "$OUT/lgm-exact"
step 5 "LGM by EM, sampled completion (option 2, Monte-Carlo EM)" \
  "$BIN/lgm_em" -k "$K" --completion sampled "${data_args[@]}" -o "$OUT/lgm-sampled"
# the pixels share one unit: the Gaussian VAEs standardise by the overall
# standard deviation, so sigma^2 I is isotropic in the pixels' units and the
# linear decoder's model is PCA's PPCA (the default, --standardize column,
# would give each pixel its own noise variance: a question of the handout)
step 6 "VAE with a linear decoder (Gaussian likelihood): an LGM's decoder" \
  "$BIN/nlgm_vae" -k "$K" --decoder linear --likelihood gaussian --standardize overall \
  --epochs "$EPOCHS" -q \
  "${data_args[@]}" -o "$OUT/vae-linear"
step 7 "VAE with an MLP decoder (Gaussian likelihood): the non-linear Gaussian model" \
  "$BIN/nlgm_vae" -k "$K" --decoder mlp --likelihood gaussian --standardize overall \
  --epochs "$EPOCHS" -q \
  "${data_args[@]}" -o "$OUT/vae-mlp"
step 8 "VAE with a Bernoulli likelihood on the binarised data" \
  "$BIN/nlgm_vae" -k "$K" --likelihood bernoulli --scale "$scale" --binarize threshold \
  --epochs "$EPOCHS" -q "${data_args[@]}" -o "$OUT/vae-bernoulli"
step 9 "RBM trained with CD-1 on the binarised data (16 hidden units: exact likelihood)" \
  "$BIN/rbm_cd" --hidden 16 --cd 1 --scale "$scale" --binarize threshold --epochs "$EPOCHS" -q \
  "${data_args[@]}" -o "$OUT/rbm"
# ---- step 10: the Gaussian-Bernoulli RBM (a density on R^d, in the continuous family);
# the exact likelihood, and beside it the bracket [reverse AIS, AIS] of 1000 steps
step 10 "RBM with Gaussian visible units on the standardised data (CD-1, 16 hidden units: exact likelihood, and the AIS bracket)" \
  "$BIN/rbm_cd" --visible gaussian --hidden 16 --cd 1 --epochs "$EPOCHS" --bracket \
  --ais-steps 1000 --raise-steps 1000 -q "${data_args[@]}" -o "$OUT/rbm-gauss"
# the gradient estimators: a short run of the Bernoulli VAE of step 8 with
# each, the variance of every estimator measured along the first
est_epochs=$(( EPOCHS / 10 > 2 ? EPOCHS / 10 : 2 ))
vae_bin=(-k "$K" --likelihood bernoulli --scale "$scale" --binarize threshold -q "${data_args[@]}")
step 11 "VAE, reparameterised gradient, $est_epochs epochs: every estimator's gradient variance" \
  "$BIN/nlgm_vae" "${vae_bin[@]}" --epochs "$est_epochs" --grad-var 20 -o "$OUT/vae-reparam"
step 12 "VAE, score-function gradient with NVIL's baseline, $est_epochs epochs" \
  "$BIN/nlgm_vae" "${vae_bin[@]}" --epochs "$est_epochs" --estimator score --baseline net \
  -o "$OUT/vae-score"
step 13 "VAE of step 8 trained on the IWAE bound, K = 5" \
  "$BIN/nlgm_vae" "${vae_bin[@]}" --epochs "$EPOCHS" --objective iwae --samples 5 -o "$OUT/vae-iwae"

# ---- the VAE with labels (nlgm_cvae): steps 14-16 -------------------------
# M2 and M1 keep the labels of N_LABELS training rows (balanced over the
# classes, the same rows for both) and hide the others; the CVAE uses them all.
# Bernoulli on the grey levels / their maximum, small networks, few epochs.
N_LABELS=${N_LABELS:-50}
LABEL_EPOCHS=${LABEL_EPOCHS:-$(( n_rows > 20000 ? 2 : 60 ))}
labelled=0
if head -n 1 "$OUT/pca.latent.dat" | grep -q ' label'; then
  n_classes=$(awk 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "label") c = i - 1; next }
                   { s[$c] = 1 } END { n = 0; for (v in s) n++; print n }' "$OUT/pca.latent.dat")
  [ "$n_classes" -le "$N_LABELS" ] && labelled=1
fi
lab_args=(--scale "$scale" -k 8 --hidden 128 --epochs "$LABEL_EPOCHS" --iw 20 -q "${data_args[@]}")
if [ "$labelled" -eq 1 ]; then
  step 14 "M2 (Kingma et al. 2014): $N_LABELS labels, y latent on the other rows, q(y|x) inside the bound" \
    "$BIN/nlgm_cvae" --semi-supervised --n-labels "$N_LABELS" "${lab_args[@]}" -o "$OUT/m2"
  step 15 "M1: the plain VAE without labels, then a logistic regression on the $N_LABELS rows' means" \
    "$BIN/nlgm_cvae" --m1 --n-labels "$N_LABELS" "${lab_args[@]}" -o "$OUT/m1"
  step 16 "the conditional VAE: encoder and decoder given the label (k = 2, the class x style grid)" \
    "$BIN/nlgm_cvae" --scale "$scale" -k 2 --hidden 64 --epochs "$LABEL_EPOCHS" --iw 20 -q \
    "${data_args[@]}" -o "$OUT/cvae"
else
  printf '\n=== [14-16/%d] skipped: the VAE with labels needs labels (at most N_LABELS = %s classes)\n' \
    "$steps" "$N_LABELS"
fi
# ---- end of the VAE with labels -------------------------------------------

# Missing data: every value but the label blacked out (NA) with probability
# MISSING (a row keeps its first value when all would be out), by a seeded Lehmer generator (x <- 16807 x mod 2^31 - 1: exact in
# awk's doubles, so every awk draws the same holes); the whole file is the
# training data, so PREFIX.imputed.dat lines up with it row for row.
holes=""
if ! is_idx "$train"; then
  holes=$OUT/holes.csv
  { case $train in *.gz) zcat "$train";; *) cat "$train";; esac; } |
    awk -v p="$MISSING" -v lc="$LABEL_COL" '
      BEGIN { s = 20260 }
      /^[ \t]*(#|$)/ { print; next }
      { if (!seen++ && $0 !~ /^[ \t]*[-+.0-9]/) { print; next }   # a header line
        line = $0; fs = index(line, ",") ? "," : index(line, "\t") ? "\t" : " "
        n = split(line, f, fs == " " ? " " : fs)
        skip = lc == "last" ? n : lc == "none" ? 0 : lc + 0
        out = ""; kept = 0; first = 0
        for (i = 1; i <= n; i++) {
          if (i == skip) continue
          if (!first) { first = i; v1 = f[i] }
          s = (s * 16807) % 2147483647
          if (s / 2147483647 < p) f[i] = "NA"; else kept++ }
        if (!kept) f[first] = v1   # a row keeps one value (none observed is an error)
        for (i = 1; i <= n; i++) out = out (i > 1 ? fs : "") f[i]
        print out }' >"$holes.tmp" && mv "$holes.tmp" "$holes"
  step 17 "LGM by EM on the data with $(awk -v p="$MISSING" 'BEGIN { print 100 * p }') % of the values blacked out: EM completes them" \
    "$BIN/lgm_em" -k "$K" "$holes" --label-col "$LABEL_COL" \
    --threads "$THREADS" -o "$OUT/lgm-missing"
  # original / blacked-out / completed, the first 12 rows (plots/completion.gp)
  awk -v lc="$LABEL_COL" -v N=12 '
    FNR == 1 { fi++ }
    fi < 3 && /^[ \t]*(#|$)/ { next }
    fi < 3 && !seen[fi]++ && (fi == 1 ? (hdr = $0 !~ /^[ \t]*[-+.0-9]/) : hdr) { next }  # a header
    fi < 3 { r[fi]++; if (r[fi] > N) next
             fs = index($0, ",") ? "," : index($0, "\t") ? "\t" : " "
             n = split($0, f, fs == " " ? " " : fs); skip = lc == "last" ? n : lc == "none" ? 0 : lc + 0
             d = 0; s = ""
             for (i = 1; i <= n; i++) if (i != skip) { d++; s = s " " (f[i] == "NA" ? "nan" : f[i]) }
             row[fi, r[fi]] = s; next }
    /^#/ { next }
    { r[3]++; if (r[3] > N) next; s = ""; for (i = 1; i <= d; i++) s = s " " $i; row[3, r[3]] = s }
    END { h = "# sample source"; for (i = 1; i <= d; i++) h = h " x" i; print h
          for (t = 1; t <= N && (1, t) in row; t++) for (k = 1; k <= 3; k++) print t, k - 1 row[k, t] }' \
    <({ case $train in *.gz) zcat "$train";; *) cat "$train";; esac; }) "$holes" \
    "$OUT/lgm-missing.imputed.dat" >"$OUT/lgm-missing.completion.dat.tmp" &&
    mv "$OUT/lgm-missing.completion.dat.tmp" "$OUT/lgm-missing.completion.dat"
else
  printf '\n=== [17/%d] skipped: blacking out values needs text data (IDX files have no missing values)\n' "$steps"
fi

# ---- plots ----------------------------------------------------------------
printf '\n=== plots\n'
plot() { # SCRIPT ARGS...
  local s=$1
  shift
  gnuplot -c "$share/plots/$s.gp" "$@" || die "plots/$s.gp $* failed"
}
plot trace "$OUT/gmm"
plot images "$OUT/gmm" means
[ "$K" -lt 2 ] || plot gmm "$OUT/gmm-pca" "$OUT/pca.latent_test.dat"
plot trace "$OUT/pca"
plot trace "$OUT/lgm-exact" "$OUT/lgm-sampled"
plot trace "$OUT/vae-linear" "$OUT/vae-mlp"
plot trace "$OUT/vae-bernoulli"
plot trace "$OUT/rbm"
for p in pca lgm-exact vae-linear vae-mlp vae-bernoulli rbm; do plot latent "$OUT/$p"; done
plot images "$OUT/pca" components
plot images "$OUT/lgm-exact" samples
for p in vae-mlp vae-bernoulli; do
  plot images "$OUT/$p" samples
  plot images "$OUT/$p" recon
  [ "$K" -ne 2 ] || plot manifold "$OUT/$p"
done
plot images "$OUT/rbm" filters
plot images "$OUT/rbm" samples
plot trace "$OUT/rbm-gauss"     # step 10
plot images "$OUT/rbm-gauss" samples
plot gradvar "$OUT/vae-reparam"
plot trace "$OUT/vae-reparam" "$OUT/vae-score"
if [ "$labelled" -eq 1 ]; then   # the VAE with labels
  plot trace "$OUT/m2"
  plot images "$OUT/m2" samples
  plot images "$OUT/cvae" samples
  plot latent "$OUT/cvae"
fi
if [ -n "$holes" ]; then
  plot trace "$OUT/lgm-missing"
  plot completion "$OUT/lgm-missing"
fi

# ---- the comparison table -------------------------------------------------
runs=(gmm pca lgm-exact lgm-sampled vae-linear vae-mlp vae-bernoulli vae-iwae rbm rbm-gauss)
tmp=$(mktemp "$OUT/compare.tsv.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# the shared columns of every summary (docs/developers.md), looked up by name;
# then the bracket on ll_test of the summaries that have one (the RBM's), nan
# for the others
cols="model family k n_params ll_train ll_test ll_test_se method iterations seconds"
optional="ll_test_lower ll_test_upper"
printf '# %s\n' "$(echo $cols $optional | tr ' ' '\t')" >"$tmp"
for r in "${runs[@]}"; do
  awk -F'\t' -v OFS='\t' -v cols="$cols" -v opt="$optional" -v f="$OUT/$r.summary.tsv" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) at[$i] = i; next }
    { n = split(cols, c, " "); s = ""
      for (i = 1; i <= n; i++) {
        if (!(c[i] in at)) { print f ": no column " c[i] > "/dev/stderr"; exit 1 }
        s = s (i > 1 ? OFS : "") $(at[c[i]]) }
      n = split(opt, c, " ")
      for (i = 1; i <= n; i++) s = s OFS (c[i] in at ? $(at[c[i]]) : "nan")
      print s }' "$OUT/$r.summary.tsv" >>"$tmp" || die "$OUT/$r.summary.tsv: not a summary"
done
mv "$tmp" "$OUT/compare.tsv"
trap - EXIT
plot compare "$OUT/compare.tsv"

printf '\n=== comparison on %s (log-likelihood per sample, nats; test = held-out data)\n' "$(basename "$train")"
awk -f "$share/scripts/compare-table.awk" "$OUT/compare.tsv" || die "$OUT/compare.tsv: no table"
echo "continuous: densities on R^d (mixture, PCA, LGM, Gaussian VAE, Gaussian RBM); binary: probabilities"
echo "of the binarised data (Bernoulli VAE, RBM).  Compare within a family, never across."
if [ "$n_rows" -gt 10000 ]; then
  echo "The VAEs' training log-likelihoods are estimated on 10000 random training rows"
  echo "(nlgm_vae --iw-train-rows): unbiased, but with the sampling error of a subset."
fi
if [ "$labelled" -eq 1 ]; then   # the VAE with labels
  printf '\n=== classification with %s labels (test accuracy; docs/vae_labels.md)\n' "$N_LABELS"
  awk -F'\t' 'FNR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) at[$i] = i; next }
       { printf "%-44s %6.2f %%\n", who, 100 * $(at["acc_test"])
         if (raw) printf "%-44s %6.2f %%\n", base, 100 * $(at["acc_raw_test"]) }' \
    base="a logistic regression on the same rows' pixels" \
    who="M2: the classifier q(y|x) trained in the bound" raw=0 "$OUT/m2.summary.tsv" \
    who="M1: a logistic regression on the VAE's means" raw=1 "$OUT/m1.summary.tsv" ||
    die "the accuracies: no summary"
fi
printf '\nlab: done in %s s; the table and the pictures are in %s/ (compare.tsv, *.png)\n' \
  "$(since "$t_start")" "$OUT"
