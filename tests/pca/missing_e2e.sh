#!/bin/bash
# tests/pca/missing_e2e.sh -- pca_iter on data with missing values: the
# imputed file (observed values and labels unchanged, every missing value
# filled), missing_frac, the trace and EM's invariant (ll_train never
# decreases, at 10 %, 20 % and 60 % missing, with SQUAREM and with --accel none;
# e_steps in the trace and summary of SQUAREM only), --load scoring the same, the same
# files from two runs (and from two at one thread), complete data unchanged (no
# imputed file, no missing_frac, no ll_train column).
source "$SRC/tests/lib.sh"
P="$BIN/pca_iter"
awk -F, -v OFS=, 'BEGIN { srand(11) } { for (i = 1; i < NF; i++) if (rand() < 0.2) $i = ""; print }' \
  "$DIGITS" >holes.csv
head -n 1400 holes.csv >train.csv
tail -n +1401 holes.csv >test.csv
run_ok "$P" -k 2 train.csv --test test.csv --label-col last -o m/pca --save m/model.txt
cp run.log fit.log
grep -q 'EM for probabilistic PCA over the observed entries' fit.log || fail "no EM line"
check_columns m/pca.imputed.dat x1 x64 label
check_columns m/pca.trace.dat iter recon_mse explained_var max_angle ref_angle seconds ll_train e_steps
[ "$(rows m/pca.imputed.dat)" -eq 1400 ] || fail "imputed.dat: $(rows m/pca.imputed.dat) rows"
all_finite m/pca.imputed.dat
all_finite m/pca.latent.dat
all_finite m/pca.latent_test.dat
awk -F'[, ]' 'NR == FNR { for (i = 1; i <= NF; i++) v[FNR, i] = $i; next }
  /^#/ { next }
  { r++; for (i = 1; i <= NF; i++) {
      if (v[r, i] == "") { if ($i == "") { print "row " r " col " i ": not filled"; bad = 1 } }
      else if ($i + 0 != v[r, i] + 0) { print "row " r " col " i ": " $i " for " v[r, i]; bad = 1 } } }
  END { exit bad }' train.csv m/pca.imputed.dat || fail "imputed.dat changes an observed value or a label"
ok
[ "$(column m/pca.summary.tsv mode)" = em ] || fail "summary mode $(column m/pca.summary.tsv mode)"
expect=$(awk -F, '{ for (i = 1; i < NF; i++) n += $i == "" } END { printf "%.6f", n / (NR * (NF - 1)) }' train.csv)
awk -v a="$(column m/pca.summary.tsv missing_frac)" -v b="$expect" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
  fail "missing_frac $(column m/pca.summary.tsv missing_frac), expected $expect"
# EM: the observed-data log-likelihood never decreases (relative rounding
# 1e-12), and its last value is the summary's ll_train (the final model's,
# through U and Lambda), at 20 % missing and, on the whole file, at 10 % and 60 %
monotone() {
  awk 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "ll_train") c = i - 1; next }
       $c != $c + 0 || $c ~ /nan|inf/ { print "not finite: " $0; bad = 1 }
       NR > 2 && $c < p - 1e-12 * (p < 0 ? -p : p) { print; bad = 1 }
       { p = $c } END { exit bad || NR < 4 }' "$1" || fail "$1: ll_train decreases (or under 3 iterations)"
  local last
  last=$(column "$1" ll_train | tail -n 1)
  awk -v a="$last" -v b="$(column "${1%.trace.dat}.summary.tsv" ll_train)" \
    'BEGIN { e = a - b; if (e < 0) e = -e; exit !(e <= 1e-9 * (b < 0 ? -b : b)) }' ||
    fail "$1: last ll_train $last, summary's $(column "${1%.trace.dat}.summary.tsv" ll_train)"
  ok
}
monotone m/pca.trace.dat
for f in 0.1 0.6; do
  awk -F, -v OFS=, -v f=$f 'BEGIN { srand(12) } { for (i = 1; i < NF; i++) if (rand() < f) $i = ""; print }' \
    "$DIGITS" >h$f.csv
  run_ok "$P" -k 3 h$f.csv --label-col last -o m$f/pca
  monotone m$f/pca.trace.dat
  # SQUAREM: 3 to 7 E-steps a cycle (1 before the first), the summary's the last
  awk 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == "e_steps") c = i - 1; next }
       { e = $c - (NR == 2 ? 1 : p); if (e < 3 || e > 7) { print "line " NR ": " e " E-steps"; bad = 1 } p = $c }
       END { exit bad || !c }' m$f/pca.trace.dat || fail "m$f: e_steps of the SQUAREM cycles"
  [ "$(column m$f/pca.trace.dat e_steps | tail -n 1)" = "$(column m$f/pca.summary.tsv e_steps)" ] ||
    fail "m$f: the summary's e_steps is not the trace's last"
  ok
  run_ok "$P" -k 3 h$f.csv --label-col last --accel none -o n$f/pca
  monotone n$f/pca.trace.dat
  ! head -n 1 n$f/pca.trace.dat | grep -q e_steps || fail "e_steps in the trace of --accel none"
  ! head -n 1 n$f/pca.summary.tsv | grep -q e_steps || fail "e_steps in the summary of --accel none"
  ok
done
# the same model scored after --load: the same ll, latents and completion
run_ok "$P" --load m/model.txt train.csv --test test.csv --label-col last -o m/loaded
for c in ll_train ll_test recon_mse recon_mse_test; do
  [ "$(column m/pca.summary.tsv $c)" = "$(column m/loaded.summary.tsv $c)" ] || fail "--load: $c differs"
done
same_files m/pca.imputed.dat m/loaded.imputed.dat
same_files m/pca.latent_test.dat m/loaded.latent_test.dat
# two runs, the same files; at one thread and at two
run_ok "$P" -k 2 train.csv --test test.csv --label-col last -o again/pca
for f in trace.dat components.dat latent.dat latent_test.dat imputed.dat summary.tsv; do
  same_results m/pca.$f again/pca.$f
done
for run in a b; do
  run_ok "$P" -k 2 train.csv --label-col last --threads 1 -o t1$run/pca
done
for f in trace.dat components.dat latent.dat imputed.dat summary.tsv; do
  same_results t1a/pca.$f t1b/pca.$f
done
# complete data: no imputed file, no missing_frac column
head -n 1400 "$DIGITS" >full.csv
run_ok "$P" -k 2 full.csv --label-col last -o f/pca
[ ! -e f/pca.imputed.dat ] || fail "imputed.dat for complete data"
! head -n 1 f/pca.summary.tsv | grep -q missing_frac || fail "missing_frac for complete data"
! head -n 1 f/pca.trace.dat | grep -q ll_train || fail "ll_train in the trace of complete data"
! head -n 1 f/pca.summary.tsv | grep -q e_steps || fail "e_steps for complete data"
ok
# complete data ignores --accel: the same files either way
run_ok "$P" -k 2 full.csv --label-col last --accel none -o fn/pca
for f in trace.dat components.dat latent.dat summary.tsv; do
  same_results f/pca.$f fn/pca.$f
done
# completed values far outside the data: none on the digits; on far_data the
# plane (-k 2) completes x3 of line 202 far outside, -k 1 does not
! grep -q 'completed value' fit.log || fail "a note on far completions for the digits"
far_data far.csv
run_ok "$P" -k 2 far.csv -o f/k2
far_note run.log || fail "no note on the far completion (-k 2)"
run_ok "$P" -k 1 far.csv -o f/k1
! grep -q 'completed value' run.log || fail "a note on far completions at -k 1"
ok
done_ok
