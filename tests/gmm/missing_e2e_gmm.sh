# missing_e2e_gmm.sh -- gmm_em on data with missing values, end to end: the
# imputed file (the observed values unchanged, the labels kept, nothing
# missing left), missing_frac, a monotone trace for every covariance type,
# --save / --load, the same files on 1 and 2 threads, a test set with
# missing values, --k-range, and complete data unchanged (no imputed file,
# no missing_frac).
source "$SRC/tests/lib.sh"
GMM="$BIN/gmm_em"

# the digits with 30 % of the pixels blacked out (NA), seeded; the first 1400
# rows for training, the rest for testing
awk -F, -v OFS=, 'BEGIN { srand(5) } { for (i = 1; i < NF; i++) if (rand() < 0.3) $i = "NA"; print }' \
  "$DIGITS" >holes.csv
head -n 1400 holes.csv >train.csv
tail -n +1401 holes.csv >test.csv
run_ok "$GMM" -K 5 --cov diag --reg 0.1 train.csv --test test.csv --label-col last -o m/gmm \
  --save m/model.txt
cp run.log fit.log
check_columns m/gmm.imputed.dat x1 x64 label
[ "$(rows m/gmm.imputed.dat)" -eq 1400 ] || fail "imputed.dat: $(rows m/gmm.imputed.dat) rows, expected 1400"
all_finite m/gmm.imputed.dat
all_finite m/gmm.latent.dat
# every observed value and every label as in train.csv, every NA filled
awk -F'[, ]' 'NR == FNR { for (i = 1; i <= NF; i++) v[FNR, i] = $i; next }
  /^#/ { next }
  { r++; for (i = 1; i <= NF; i++) {
      if (v[r, i] == "NA") { if ($i == "NA" || $i == "") { print "row " r " col " i ": not filled"; bad = 1 } }
      else if ($i + 0 != v[r, i] + 0) { print "row " r " col " i ": " $i " for " v[r, i]; bad = 1 } } }
  END { exit bad }' train.csv m/gmm.imputed.dat || fail "imputed.dat changes an observed value or a label"
ok
# the filled values mix the components' means: inside the pixels' range and
# not constant within a column
awk -F'[, ]' 'NR == FNR { for (i = 1; i < NF; i++) if ($i == "NA") h[FNR, i] = 1; next }
  /^#/ { next }
  { r++; for (i = 1; i < NF; i++) if ((r, i) in h) { n++; if ($i < -0.01 || $i > 16.01) out++; s[i] += $i; q[i] += $i * $i; c[i]++ } }
  END { for (i in c) if (c[i] > 10 && q[i] / c[i] - (s[i] / c[i]) ^ 2 > 1) vary++
        if (out > 0 || vary < 30) exit 1 }' train.csv m/gmm.imputed.dat ||
  fail "imputed values out of range or constant within columns"
ok
# missing_frac = the NA of train.csv / its 1400 x 64 values
expect=$(awk -F, '{ for (i = 1; i < NF; i++) n += $i == "NA" } END { printf "%.6f", n / (NR * (NF - 1)) }' train.csv)
got=$(column m/gmm.summary.tsv missing_frac)
awk -v a="$got" -v b="$expect" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
  fail "missing_frac $got, expected $expect"
grep -q 'missing values: .* completed by E\[x_m | x_o\] in m/gmm.imputed.dat' fit.log || fail "no report of the completion"
ok
# exact EM: the observed-data ll never falls (to the rounding of ll/N), for
# every covariance type (full and tied on 300 rows: a pattern a row)
head -n 300 train.csv >small.csv
for cov in full diag spherical tied; do
  run_ok "$GMM" -K 3 --cov $cov --reg 0.1 small.csv --test test.csv --label-col last --accel none \
    --max-iter 40 -o c/$cov
  awk 'NR > 2 && $4 < -1e-9 { print; bad = 1 } END { exit bad }' c/$cov.trace.dat || fail "$cov: trace falls"
  all_finite c/$cov.imputed.dat
  check_columns c/$cov.summary.tsv missing_frac
done
ok
# --load reproduces the scores, the responsibilities and the imputation
run_ok "$GMM" --load m/model.txt train.csv --test test.csv --label-col last -o m/loaded
for c in ll_train ll_test; do
  [ "$(column m/gmm.summary.tsv $c)" = "$(column m/loaded.summary.tsv $c)" ] || fail "--load: $c differs"
done
same_files m/gmm.imputed.dat m/loaded.imputed.dat
same_files m/gmm.latent.dat m/loaded.latent.dat
# the same files on 1 and 2 threads (the E-step by pattern runs on one)
run_ok "$GMM" -K 5 --cov diag --reg 0.1 train.csv --test test.csv --label-col last --threads 1 -o t1/gmm
run_ok "$GMM" -K 5 --cov diag --reg 0.1 train.csv --test test.csv --label-col last --threads 2 -o t2/gmm
for f in trace.dat weights.dat means.dat covariances.dat latent.dat imputed.dat summary.tsv; do
  same_results t1/gmm.$f t2/gmm.$f
done
# --k-range on incomplete data: a select file, BIC from the observed-data ll
run_ok "$GMM" --k-range 1:3 --cov spherical --reg 0.1 train.csv --label-col last -o k/gmm
[ "$(rows k/gmm.select.dat)" -eq 3 ] || fail "--k-range: select.dat rows"
all_finite k/gmm.imputed.dat
ok
# complete training data, a test set with missing values: ll_test from the
# observed values, no imputed file; complete data alone: no missing_frac
head -n 1400 "$DIGITS" >full.csv
run_ok "$GMM" -K 5 --cov diag --reg 0.1 full.csv --test test.csv --label-col last -o f/gmm
[ ! -e f/gmm.imputed.dat ] || fail "imputed.dat written for complete DATA"
awk -v a="$(column f/gmm.summary.tsv ll_test)" 'BEGIN { exit !(a == a + 0 && a > -1e300) }' ||
  fail "ll_test of a test set with missing values"
run_ok "$GMM" -K 5 --cov diag --reg 0.1 full.csv --label-col last -o g/gmm
[ ! -e g/gmm.imputed.dat ] || fail "imputed.dat written for complete data"
! head -n 1 g/gmm.summary.tsv | grep -q missing_frac || fail "missing_frac for complete data"
ok
# completed values far outside the data: none on the digits; one full
# component on far_data completes x3 of line 202 from the plane, far
# outside; --cov diag (no relation between the columns) does not
! grep -q 'completed value' fit.log || fail "a note on far completions for the digits"
far_data far.csv
run_ok "$GMM" -K 1 far.csv -o f/full
far_note run.log || fail "no note on the far completion (full)"
run_ok "$GMM" -K 1 --cov diag far.csv -o f/diag
! grep -q 'completed value' run.log || fail "a note on far completions (diag)"
ok
done_ok
