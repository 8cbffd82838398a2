# test_rbm_gauss_cli.sh -- rbm_cd end to end with Gaussian visible units,
# the likelihood bracket and parallel tempering: the summary's family, name,
# parameters and bracket columns; a column multiplied by 1000 changes the
# log-likelihoods by exactly -log 1000 and nothing else; --save/--load of a
# Gaussian and of a PT model (version 2); --pt 1 gives PCD's files; the
# same seed the same files; bad options and model files refused in one line.
source "$SRC/tests/lib.sh"
RBM="$BIN/rbm_cd"
G=(--visible gaussian --label-col last --split 0.2 --hidden 8 --epochs 5 --monitor 200
   --n-samples 10 --sample-steps 20 --threads 2)
# a summary's value by column name
val() { column "$1" "$2"; }
# |a - b| <= tol
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# ---- a Gaussian run: continuous family, its name and parameter count,
# log-likelihoods in the data's units, samples in the data's range
run_ok "$RBM" "${G[@]}" -o g/rbm "$DIGITS"
# the digits' first pixel is 0 in every row: standardised by 1, and named
grep -Eq "^note: field 1 and [0-9]+ more columns? are constant in the training rows" run.log ||
  fail "no note of the constant columns"
[ "$(val g/rbm.summary.tsv family)" = continuous ] || fail "family: $(val g/rbm.summary.tsv family)"
[ "$(val g/rbm.summary.tsv model)" = rbm-gauss-cd1 ] || fail "model: $(val g/rbm.summary.tsv model)"
[ "$(val g/rbm.summary.tsv n_params)" -eq $((64 * 8 + 64 + 8)) ] || fail "n_params (sigma fixed)"
[ "$(val g/rbm.summary.tsv method)" = exact-enum ] || fail "method: H = 8 is enumerated"
# nothing bracketed without --bracket when exact
[ "$(val g/rbm.summary.tsv ll_test_lower)" = nan ] && [ "$(val g/rbm.summary.tsv ll_test_upper)" = nan ] ||
  fail "a bracket without --bracket"
# the pseudo-likelihood is a binary notion: nan; the exact ll every epoch
! column g/rbm.trace.dat pseudo_ll | grep -vq nan || fail "Gaussian pseudo_ll is not nan"
[ "$(column g/rbm.trace.dat ll_test | tail -1)" = "$(val g/rbm.summary.tsv ll_test)" ] ||
  fail "trace and summary disagree on ll_test"
# samples: E[v | h] in grey levels (the digits lie in 0..16)
awk 'NR > 1 { for (i = 1; i <= NF; i++) { s += $i; n++ } } END { m = s / n; exit !(m > 0 && m < 16) }' g/rbm.samples.dat ||
  fail "samples are not in the data's units"
all_finite g/rbm.samples.dat
ok

# ---- scale: a column (pixel 20, which varies) multiplied by 1000 moves the
# log-likelihoods by exactly -log 1000 (the density of that column in its new
# units) and leaves the fit alone: filters, latent codes identical
awk -F, -v OFS=, '{ $20 = $20 * 1000; print }' "$DIGITS" >big.csv
for s in fixed learn; do
  run_ok "$RBM" "${G[@]}" --sigma $s -o s1/$s "$DIGITS"
  run_ok "$RBM" "${G[@]}" --sigma $s -o s2/$s big.csv
  same_files s1/$s.filters.dat s2/$s.filters.dat
  same_files s1/$s.latent.dat s2/$s.latent.dat
  for c in ll_train ll_test; do
    a=$(val s1/$s.summary.tsv $c) b=$(val s2/$s.summary.tsv $c)
    awk -v a="$a" -v b="$b" 'BEGIN { d = (a - b) - log(1000); if (d < 0) d = -d; exit !(d <= 1e-9 * (1 - a)) }' ||
      fail "sigma $s: $c $a, with a column x 1000 $b: not log 1000 apart"
  done
  ok
done
[ "$(val s1/learn.summary.tsv n_params)" -eq $((64 * 8 + 64 + 8 + 64)) ] || fail "n_params (sigma learned)"

# ---- the bracket: --bracket beside exact, and AIS forced by --exact-max-h 0
B=(--ais-runs 50 --ais-steps 500 --raise-steps 500)
run_ok "$RBM" "${G[@]}" "${B[@]}" --bracket --raise-rows 1000 -o b/rbm "$DIGITS"
lo=$(val b/rbm.summary.tsv ll_test_lower) lse=$(val b/rbm.summary.tsv ll_test_lower_se)
up=$(val b/rbm.summary.tsv ll_test_upper) use=$(val b/rbm.summary.tsv ll_test_upper_se)
ex=$(val b/rbm.summary.tsv ll_test)
[ "$(val b/rbm.summary.tsv raise_rows)" -eq 359 ] || fail "--raise-rows 1000: all 359 test rows"
awk -v l="$lo" -v ls="$lse" -v u="$up" -v us="$use" -v e="$ex" 'BEGIN { exit !(l - 3 * ls <= e && e <= u + 3 * us && ls > 0 && us > 0) }' ||
  fail "exact $ex outside the bracket [$lo +- $lse, $up +- $use]"
grep -q "^test log-likelihood bracket: " run.log || fail "the report does not print the bracket"
run_ok "$RBM" "${G[@]}" "${B[@]}" --exact-max-h 0 -o a/rbm "$DIGITS"
same_files b/rbm.filters.dat a/rbm.filters.dat
[ "$(val a/rbm.summary.tsv method)" = ais ] || fail "method with --exact-max-h 0"
[ "$(val a/rbm.summary.tsv ll_test)" = "$(val a/rbm.summary.tsv ll_test_upper)" ] || fail "AIS's ll_test is the upper end"
[ "$(val a/rbm.summary.tsv raise_rows)" -eq 100 ] || fail "reverse AIS from the default 100 rows"
awk -v l="$(val a/rbm.summary.tsv ll_test_lower)" -v u="$(val a/rbm.summary.tsv ll_test_upper)" -v e="$ex" \
  'BEGIN { exit !(l < u && u - l < 2 && l - e < 1 && e - u < 1) }' || fail "AIS bracket: $(tail -1 a/rbm.summary.tsv)"
ok

# ---- --save / --load: a Gaussian model (version 2) scores the same
run_ok "$RBM" "${G[@]}" --sigma learn --save g.model -o sv/rbm "$DIGITS"
grep -q '^kind rbm 2$' g.model && grep -q '^str visible gaussian$' g.model && grep -q '^str sigma learn$' g.model ||
  fail "the Gaussian model file: $(head -12 g.model)"
run_ok "$RBM" --load g.model --label-col last --split 0.2 --n-samples 10 --sample-steps 20 -o ld/rbm "$DIGITS"
for c in model family ll_train ll_test method n_params; do
  [ "$(val sv/rbm.summary.tsv $c)" = "$(val ld/rbm.summary.tsv $c)" ] || fail "--load: $c differs"
done
same_files sv/rbm.latent.dat ld/rbm.latent.dat
same_files sv/rbm.samples.dat ld/rbm.samples.dat
# no test set: the test estimates and their standard errors are nan, the training one's is not
run_ok "$RBM" --load g.model --label-col last --exact-max-h 0 --ais-runs 10 --ais-steps 100 \
  --n-samples 2 --sample-steps 2 -o nt/rbm "$DIGITS"
for c in ll_test ll_test_se ll_test_lower ll_test_lower_se ll_test_upper ll_test_upper_se; do
  [ "$(val nt/rbm.summary.tsv $c)" = nan ] || fail "no test set: $c = $(val nt/rbm.summary.tsv $c)"
done
awk -v s="$(val nt/rbm.summary.tsv ll_train_se)" 'BEGIN { exit !(s + 0 > 0) }' ||
  fail "ll_train_se: $(val nt/rbm.summary.tsv ll_train_se)"
# a binary CD model is still written as version 1
run_ok "$RBM" --label-col last --split 0.2 --scale 16 --hidden 4 --epochs 1 --save b.model -o bm/rbm "$DIGITS"
grep -q '^kind rbm 1$' b.model && ! grep -q visible b.model || fail "a binary CD model is not version 1"

# ---- parallel tempering: --pt 1 is PCD; --pt 4 swaps; a PT model loads
P=(--label-col last --split 0.2 --scale 16 --hidden 8 --epochs 4 --monitor 200 --n-samples 5
   --sample-steps 10 --threads 2)
run_ok "$RBM" "${P[@]}" --pcd -o pcd/rbm "$DIGITS"
run_ok "$RBM" "${P[@]}" --pt 1 -o pt1/rbm "$DIGITS"
for f in trace.dat filters.dat samples.dat latent.dat; do same_results pcd/rbm.$f pt1/rbm.$f; done
[ "$(val pt1/rbm.summary.tsv model)" = rbm-pt1 ] && [ "$(val pt1/rbm.summary.tsv pt_chains)" = 1 ] ||
  fail "--pt 1: $(tail -1 pt1/rbm.summary.tsv)"
run_ok "$RBM" "${P[@]}" --pt 4 --save pt.model -o pt4/rbm "$DIGITS"
awk -v r="$(val pt4/rbm.summary.tsv pt_swap_rate)" 'BEGIN { exit !(r > 0 && r <= 1) }' || fail "--pt 4: swap rate"
! cmp -s pcd/rbm.filters.dat pt4/rbm.filters.dat || fail "--pt 4 trained as PCD"
grep -q '^int pt 4$' pt.model || fail "the PT model file holds no pt 4"
run_ok "$RBM" --load pt.model --label-col last --split 0.2 --n-samples 5 --sample-steps 10 -o ptl/rbm "$DIGITS"
[ "$(val ptl/rbm.summary.tsv model)" = rbm-pt1 ] && [ "$(val ptl/rbm.summary.tsv ll_test)" = "$(val pt4/rbm.summary.tsv ll_test)" ] ||
  fail "the loaded PT model: $(tail -1 ptl/rbm.summary.tsv)"
# Gaussian units with PT, the same seed twice: the same files
run_ok "$RBM" "${G[@]}" --pt 3 --sigma learn -o gp1/rbm "$DIGITS"
run_ok "$RBM" "${G[@]}" --pt 3 --sigma learn -o gp2/rbm "$DIGITS"
for f in trace.dat filters.dat samples.dat latent.dat summary.tsv; do same_results gp1/rbm.$f gp2/rbm.$f; done
[ "$(val gp1/rbm.summary.tsv model)" = rbm-gauss-pt1 ] || fail "Gaussian PT name"

# ---- bad options and files: one line, exit 1, nothing written
E=err/rbm
printf '0,1,0\n1,1,1\n0,0,1\n' >bin3.csv
printf '1,2\n1,2\n1,2\n' >const.csv
printf '1,2\n1e300,2\n3,4\n' >huge.csv
expect_error $E -- '--sigma learn: binary visible units have no sigma' "$RBM" --sigma learn -o $E bin3.csv
expect_error $E -- '--visible.*expected one of bernoulli\|gaussian' "$RBM" --visible normal -o $E bin3.csv
expect_error $E -- '--sigma-min 0: expected 1e-3 <= S <= 1' "$RBM" --visible gaussian --sigma learn --sigma-min 0 -o $E bin3.csv
expect_error $E -- '--pt 101: expected 1 <= R <= 100' "$RBM" --pt 101 -o $E bin3.csv
expect_error $E -- '--pt -1' "$RBM" --pt -1 -o $E bin3.csv
expect_error $E -- '--raise-rows -1' "$RBM" --raise-rows -1 -o $E bin3.csv
expect_error $E -- '--raise-steps 5' "$RBM" --raise-steps 5 -o $E bin3.csv
expect_error $E 'const\.csv: every column is constant' "$RBM" --visible gaussian -o $E const.csv
expect_error $E 'huge\.csv: field 1: values up to 1e\+300 are too large' "$RBM" --visible gaussian -o $E huge.csv
# a Gaussian model file with a scale of 0, with a sigma that is not 1 though fixed
awk '/^array data_sd/ { print; getline; $1 = 0 } { print }' g.model >scale0.model
expect_error $E 'scale0\.model:[0-9]+: array data_sd, column 1: 0: expected > 0' \
  "$RBM" --load scale0.model --label-col last -o $E "$DIGITS"
sed 's/^str sigma learn$/str sigma fixed/' g.model >zfixed.model
expect_error $E 'zfixed\.model:[0-9]+: array z, column [0-9]+: .*0 with sigma fixed' \
  "$RBM" --load zfixed.model --label-col last -o $E "$DIGITS"
sed 's/^str visible gaussian$/str visible poisson/' g.model >vis.model
expect_error $E 'vis\.model:[0-9]+: visible poisson' "$RBM" --load vis.model --label-col last -o $E "$DIGITS"
grep -v '^array data_mean' g.model >noshift.model
expect_error $E 'noshift\.model' "$RBM" --load noshift.model --label-col last -o $E "$DIGITS"
# a test log-likelihood made by one row (tail_data: test line 50 holds 5
# where the training column is 0 but once): the note names the line; none
# without that row
tail_note '^note: the test log-likelihood is made by a few rows: .* the lowest 1 row holds 100 % .* is at tail_te\.csv:50 ' \
  1 "$RBM" --visible gaussian --epochs 5
ok
done_ok
