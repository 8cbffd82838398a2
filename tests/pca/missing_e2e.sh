#!/bin/bash
# tests/pca/missing_e2e.sh -- pca_iter on data with missing values: the
# imputed file (observed values and labels unchanged, every missing value
# filled), missing_frac, the trace, --load scoring the same, the same files
# from two runs, complete data unchanged (no imputed file, no missing_frac).
source "$SRC/tests/lib.sh"
P="$BIN/pca_iter"
awk -F, -v OFS=, 'BEGIN { srand(11) } { for (i = 1; i < NF; i++) if (rand() < 0.2) $i = ""; print }' \
  "$DIGITS" >holes.csv
head -n 1400 holes.csv >train.csv
tail -n +1401 holes.csv >test.csv
run_ok "$P" -k 2 train.csv --test test.csv --label-col last -o m/pca --save m/model.txt
cp run.log fit.log
grep -q 'alternating least squares over the observed entries' fit.log || fail "no ALS line"
check_columns m/pca.imputed.dat x1 x64 label
check_columns m/pca.trace.dat iter recon_mse explained_var max_angle ref_angle seconds
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
[ "$(column m/pca.summary.tsv mode)" = als ] || fail "summary mode $(column m/pca.summary.tsv mode)"
expect=$(awk -F, '{ for (i = 1; i < NF; i++) n += $i == "" } END { printf "%.6f", n / (NR * (NF - 1)) }' train.csv)
awk -v a="$(column m/pca.summary.tsv missing_frac)" -v b="$expect" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
  fail "missing_frac $(column m/pca.summary.tsv missing_frac), expected $expect"
# the least squares' residual never rises
awk 'NR > 2 && $2 > p * (1 + 1e-9) { print; bad = 1 } NR > 1 { p = $2 } END { exit bad }' m/pca.trace.dat ||
  fail "recon_mse rises"
# the same model scored after --load: the same ll, latents and completion
run_ok "$P" --load m/model.txt train.csv --test test.csv --label-col last -o m/loaded
for c in ll_train ll_test recon_mse recon_mse_test; do
  [ "$(column m/pca.summary.tsv $c)" = "$(column m/loaded.summary.tsv $c)" ] || fail "--load: $c differs"
done
same_files m/pca.imputed.dat m/loaded.imputed.dat
same_files m/pca.latent_test.dat m/loaded.latent_test.dat
# two runs, the same files
run_ok "$P" -k 2 train.csv --test test.csv --label-col last -o again/pca
for f in trace.dat components.dat latent.dat latent_test.dat imputed.dat summary.tsv; do
  same_results m/pca.$f again/pca.$f
done
# complete data: no imputed file, no missing_frac column
head -n 1400 "$DIGITS" >full.csv
run_ok "$P" -k 2 full.csv --label-col last -o f/pca
[ ! -e f/pca.imputed.dat ] || fail "imputed.dat for complete data"
! head -n 1 f/pca.summary.tsv | grep -q missing_frac || fail "missing_frac for complete data"
ok
done_ok
