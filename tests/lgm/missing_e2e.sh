# missing_e2e.sh -- lgm_em on data with missing values, end to end: the
# imputed file (the observed values unchanged, the labels kept, nothing
# missing left), missing_frac, a monotone trace, --save / --load, the same
# files on 1 and 2 threads, sampled completion, a test set with missing
# values, --missing TOKEN, and complete data unchanged (no imputed file, no
# missing_frac).
source "$SRC/tests/lib.sh"
LGM="$BIN/lgm_em"

# the digits with 30 % of the pixels blacked out (NA), seeded; the first 1400
# rows for training, the rest for testing
awk -F, -v OFS=, 'BEGIN { srand(5) } { for (i = 1; i < NF; i++) if (rand() < 0.3) $i = "NA"; print }' \
  "$DIGITS" >holes.csv
head -n 1400 holes.csv >train.csv
tail -n +1401 holes.csv >test.csv
run_ok "$LGM" train.csv --test test.csv --label-col last -o m/lgm --save m/model.txt
cp run.log fit.log
check_columns m/lgm.imputed.dat x1 x64 label
[ "$(rows m/lgm.imputed.dat)" -eq 1400 ] || fail "imputed.dat: $(rows m/lgm.imputed.dat) rows, expected 1400"
all_finite m/lgm.imputed.dat
all_finite m/lgm.latent.dat
all_finite m/lgm.latent_test.dat
# every observed value and every label as in train.csv, every NA filled
awk -F'[, ]' 'NR == FNR { for (i = 1; i <= NF; i++) v[FNR, i] = $i; next }
  /^#/ { next }
  { r++; for (i = 1; i <= NF; i++) {
      if (v[r, i] == "NA") { if ($i == "NA" || $i == "") { print "row " r " col " i ": not filled"; bad = 1 } }
      else if ($i + 0 != v[r, i] + 0) { print "row " r " col " i ": " $i " for " v[r, i]; bad = 1 } } }
  END { exit bad }' train.csv m/lgm.imputed.dat || fail "imputed.dat changes an observed value or a label"
ok
# the filled values are conditional means: inside the pixels' range, and not
# all the same as the column mean (the mean imputation's value)
awk -F'[, ]' 'NR == FNR { for (i = 1; i < NF; i++) if ($i == "NA") h[FNR, i] = 1; next }
  /^#/ { next }
  { r++; for (i = 1; i < NF; i++) if ((r, i) in h) { n++; if ($i < -8 || $i > 24) out++; s[i] += $i; q[i] += $i * $i; c[i]++ } }
  END { for (i in c) if (c[i] > 10 && q[i] / c[i] - (s[i] / c[i]) ^ 2 > 1) vary++
        if (out > 0.01 * n || vary < 30) exit 1 }' train.csv m/lgm.imputed.dat ||
  fail "imputed values out of range or constant within columns"
ok
# missing_frac = the NA of train.csv / its 1400 x 64 values
expect=$(awk -F, '{ for (i = 1; i < NF; i++) n += $i == "NA" } END { printf "%.6f", n / (NR * (NF - 1)) }' train.csv)
got=$(column m/lgm.summary.tsv missing_frac)
awk -v a="$got" -v b="$expect" 'BEGIN { exit !(a - b < 1e-6 && b - a < 1e-6) }' ||
  fail "missing_frac $got, expected $expect"
grep -q 'missing values: .* completed by E\[x_m | x_o\] in m/lgm.imputed.dat' fit.log || fail "no report of the completion"
ok
# exact EM: the observed-data ll never falls (to the rounding of ll/N)
awk 'NR > 2 && $4 < -1e-9 { print; bad = 1 } END { exit bad }' m/lgm.trace.dat || fail "SQUAREM trace falls"
run_ok "$LGM" train.csv --test test.csv --label-col last --accel none --max-iter 200 -o m/plain
awk 'NR > 2 && $4 < -1e-9 { print; bad = 1 } END { exit bad }' m/plain.trace.dat || fail "plain EM trace falls"
# the SQUAREM fit ends at least as high as 200 plain EM steps
awk -v a="$(column m/lgm.summary.tsv ll_train)" -v b="$(column m/plain.summary.tsv ll_train)" \
  'BEGIN { exit !(a >= b - 1e-6) }' || fail "SQUAREM ends below plain EM"
ok
# --load reproduces the scores, the latent means and the imputation
run_ok "$LGM" --load m/model.txt train.csv --test test.csv --label-col last -o m/loaded
for c in ll_train ll_test; do
  [ "$(column m/lgm.summary.tsv $c)" = "$(column m/loaded.summary.tsv $c)" ] || fail "--load: $c differs"
done
same_files m/lgm.imputed.dat m/loaded.imputed.dat
same_files m/lgm.latent_test.dat m/loaded.latent_test.dat
# the same files from two runs on 2 threads (the threads take chunks of rows
# and patterns in any order; their sums are added in chunk order), and the
# same ll/N to rounding on 1 thread (BLAS may round otherwise there)
run_ok "$LGM" train.csv --test test.csv --label-col last --threads 2 -o t1/lgm
run_ok "$LGM" train.csv --test test.csv --label-col last --threads 2 -o t2/lgm
for f in trace.dat A.dat D.dat mean.dat latent.dat latent_test.dat imputed.dat summary.tsv; do
  same_results t1/lgm.$f t2/lgm.$f
done
run_ok "$LGM" train.csv --test test.csv --label-col last --threads 1 -o t3/lgm
awk -v a="$(column t1/lgm.summary.tsv ll_train)" -v b="$(column t3/lgm.summary.tsv ll_train)" \
  'BEGIN { exit !(a - b < 1e-9 * (a < 0 ? -a : a) && b - a < 1e-9 * (a < 0 ? -a : a)) }' ||
  fail "1 and 2 threads: ll_train differs beyond rounding"
ok
# sampled completion draws the missing values too: it runs, ends near exact EM
run_ok "$LGM" train.csv --test test.csv --label-col last --completion sampled --samples 3 -o s/lgm
all_finite s/lgm.imputed.dat
awk -v a="$(column s/lgm.summary.tsv ll_train)" -v b="$(column m/lgm.summary.tsv ll_train)" \
  'BEGIN { exit !(a <= b + 1e-6 && b - a < 0.05) }' || fail "sampled completion far from exact EM"
ok
# complete training data, a test set with missing values: ll_test from the
# observed values, no imputed file
head -n 1400 "$DIGITS" >full.csv
run_ok "$LGM" full.csv --test test.csv --label-col last -o c/lgm
[ ! -e c/lgm.imputed.dat ] || fail "imputed.dat written for complete DATA"
all_finite c/lgm.latent_test.dat
[ "$(column c/lgm.summary.tsv missing_frac)" = 0 ] || fail "missing_frac of complete DATA"
# ... and complete data alone: no imputed file, no missing_frac column
run_ok "$LGM" full.csv --label-col last -o f/lgm
[ ! -e f/lgm.imputed.dat ] || fail "imputed.dat written for complete data"
! head -n 1 f/lgm.summary.tsv | grep -q missing_frac || fail "missing_frac for complete data"
ok
# --missing TOKEN: '-' marks a missing value too
sed 's/NA/-/g' train.csv >dash.csv
run_ok "$LGM" dash.csv --missing - --label-col last -o d/lgm
run_ok "$LGM" train.csv --label-col last -o n/lgm
same_results d/lgm.A.dat n/lgm.A.dat
# completed values far outside the data: none on the digits; on far_data the
# plane (-k 2) completes x3 of line 202 far outside, in any units of x3, and
# -k 1 does not
! grep -q 'completed value' fit.log || fail "a note on far completions for the digits"
far_data far.csv
far_data far1000.csv 1000
run_ok "$LGM" -k 2 far.csv -o f/k2
far_note run.log || fail "no note on the far completion (-k 2)"
awk '!/^#/ { v = $3 } END { exit !(v > 3 && v < 4.5) }' f/k2.imputed.dat || fail "x3 of line 202 not completed near 4"
run_ok "$LGM" -k 2 far1000.csv -o f/k2s
far_note run.log || fail "no note on the far completion (x3 in units 1000 times smaller)"
run_ok "$LGM" -k 1 far.csv -o f/k1
! grep -q 'completed value' run.log || fail "a note on far completions at -k 1"
ok
done_ok
