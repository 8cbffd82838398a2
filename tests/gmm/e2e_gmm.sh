# e2e_gmm.sh -- gmm_em end to end: output files and their columns, the
# summary's numbers, --save / --load, determinism (same seed; 1 and 2
# threads), --k-range, --init file:, --n-init, a rescaled column, a collapsed
# component named with its line, IDX input.
source "$SRC/tests/lib.sh"
GMM="$BIN/gmm_em"

# --- the students' first command: DATA alone (the label column is then a
# feature: 65 columns), K = 3, default prefix out/gmm
run_ok "$GMM" "$DIGITS"
for f in trace weights means covariances latent samples; do [ -s out/gmm.$f.dat ] || fail "out/gmm.$f.dat missing"; done
[ -s out/gmm.summary.tsv ] || fail "out/gmm.summary.tsv missing"
grep -Eq '^ +0 +-?[0-9.]+ +nan +nan ' run.log || { cat run.log; fail "no iteration-0 line"; }
grep -q '^collapsed components: none' run.log || { cat run.log; fail "no collapse report"; }
ok

# --- labels and a held-out split
run_ok "$GMM" "$DIGITS" --label-col last --split 0.2 --cov diag -K 4 --reg 0.1 -o a/gmm --save a/model.txt
check_columns a/gmm.trace.dat iter ll_train ll_test delta seconds min_weight n_collapsed
check_columns a/gmm.weights.dat component weight
check_columns a/gmm.means.dat component x1 x64
check_columns a/gmm.covariances.dat component x1 x64
check_columns a/gmm.latent.dat r1 r4 assigned label
check_columns a/gmm.samples.dat component x1 x64
check_columns a/gmm.summary.tsv model family k n_params ll_train ll_test ll_test_se method iterations seconds bic aic cov reg converged n_collapsed d n_train n_test e_steps init_seconds
[ "$(rows a/gmm.weights.dat)" -eq 4 ] || fail "weights.dat: expected 4 rows"
[ "$(rows a/gmm.means.dat)" -eq 4 ] || fail "means.dat: expected 4 rows"
[ "$(rows a/gmm.covariances.dat)" -eq 4 ] || fail "covariances.dat (diag): expected K = 4 rows"
[ "$(rows a/gmm.latent.dat)" -eq 359 ] || fail "latent.dat: expected the 359 test rows"
[ "$(rows a/gmm.samples.dat)" -eq 64 ] || fail "samples.dat: expected 64 rows"
for c in ll_train ll_test seconds min_weight n_collapsed; do
  ! column a/gmm.trace.dat $c | grep -Eqi 'nan|inf' || fail "trace: $c not finite"
done
[ "$(column a/gmm.trace.dat delta | grep -ci nan)" = 1 ] || fail "trace: delta nan beyond iteration 0"
all_finite a/gmm.latent.dat
all_finite a/gmm.covariances.dat
ok
# weights sum to 1; every row of responsibilities sums to 1 and `assigned`
# is its largest; diag: covariances.dat holds each component's variances,
# positive, the model file's compact array (the same numbers, %.17g)
column a/gmm.weights.dat weight | awk '{ s += $1 } END { d = s - 1; if (d < 0) d = -d; exit !(d < 1e-12) }' ||
  fail "weights do not sum to 1"
awk 'NR > 1 { s = 0; a = 1; for (z = 1; z <= 4; z++) { s += $z; if ($z + 0 > $a + 0) a = z }
              d = s - 1; if (d < 0) d = -d; if (d > 1e-12 || $5 != a) { print "row " NR ": " $0; bad = 1 } }
     END { exit bad }' a/gmm.latent.dat || fail "latent.dat: responsibilities or assigned wrong"
awk 'NR > 1 { for (j = 2; j <= NF; j++) if (!($j > 0)) { print "row " NR ", column " j ": " $j; bad = 1; exit } } END { exit bad }' \
  a/gmm.covariances.dat || fail "diag covariances: a variance not positive"
cmp -s <(grep -v '^#' a/gmm.covariances.dat | cut -d' ' -f2-) \
  <(awk '/^array covariances/ { f = 1; next } /^array/ { f = 0 } f' a/model.txt) ||
  fail "diag covariances.dat differs from the model file's variances"
ok
# the summary: gmm-diag, continuous, K 4, n_params (K-1) + K d + K d = 515,
# BIC = -2 n ll + p log n, AIC = -2 n ll + 2 p (n = 1438 training rows)
IFS=$'\t' read -r model family k np lltr llte se method iters secs bic aic cov reg conv ncol d ntr nte nes isecs < <(tail -n 1 a/gmm.summary.tsv)
[ "$model $family $k $np $method $cov $d $ntr $nte" = "gmm-diag continuous 4 515 exact diag 64 1438 359" ] ||
  fail "summary: $model $family $k $np $method $cov $d $ntr $nte"
[ "$se" = "0" ] || fail "summary: ll_test_se '$se', expected 0"
awk -v ll="$lltr" -v p="$np" -v n="$ntr" -v b="$bic" -v a="$aic" 'BEGIN {
  eb = -2 * n * ll + p * log(n); ea = -2 * n * ll + 2 * p
  if ((b - eb)^2 > (1e-9 * eb)^2 || (a - ea)^2 > (1e-9 * ea)^2) { print b, eb, a, ea; exit 1 } }' ||
  fail "summary: BIC/AIC not -2 n ll + p log n / + 2 p"
[ "$(column a/gmm.trace.dat ll_train | tail -n 1)" = "$lltr" ] || fail "trace and summary ll_train differ"
[ "$(column a/gmm.trace.dat ll_test | tail -n 1)" = "$llte" ] || fail "trace and summary ll_test differ"
column a/gmm.trace.dat ll_train | awk 'NR > 1 && $1 < p - 1e-12 * (p < 0 ? -p : p) { bad = 1 } { p = $1 } END { exit bad }' ||
  fail "ll_train decreased in the trace"
ok

# --- --save then --load scores the same test set identically
head -n 400 "$DIGITS" > test400.csv
run_ok "$GMM" "$DIGITS" --label-col last --test test400.csv --cov tied -K 2 -o b/gmm --save b/model.txt
run_ok "$GMM" --load b/model.txt --label-col last --test test400.csv -o c/gmm
[ ! -e c/gmm.trace.dat ] || fail "--load wrote a trace"
for f in latent samples weights means covariances; do same_files b/gmm.$f.dat c/gmm.$f.dat; done
[ "$(column b/gmm.summary.tsv ll_test)" = "$(column c/gmm.summary.tsv ll_test)" ] || fail "ll_test after --load differs"
run_ok "$GMM" --load b/model.txt --label-col last "$DIGITS" -o d/gmm --n-samples 0
[ "$(column b/gmm.summary.tsv ll_train)" = "$(column d/gmm.summary.tsv ll_train)" ] || fail "ll_train after --load differs"
[ ! -e d/gmm.samples.dat ] || fail "--n-samples 0 wrote samples"
ok

# --- same seed, same files
for opts in "--cov full -K 3" "--cov diag -K 5 --n-init 3 --init random" "--cov spherical --k-range 2:4"; do
  run_ok "$GMM" "$DIGITS" --label-col last --split 0.25 --seed 7 -o s1/gmm $opts
  run_ok "$GMM" "$DIGITS" --label-col last --split 0.25 --seed 7 -o s2/gmm $opts
  for f in s1/gmm.*; do same_results "$f" "s2/${f#s1/}"; done
done
# a different seed, a different start
run_ok "$GMM" "$DIGITS" --label-col last --split 0.25 --seed 8 -o s3/gmm --cov spherical --k-range 2:4
! cmp -s s1/gmm.means.dat s3/gmm.means.dat || fail "--seed 8 gave the means of --seed 7"
ok

# --- 1 and 2 threads: the same files (10000 rows: several chunks of rows)
# three clusters in 3 dimensions, 10000 rows
awk 'BEGIN { srand(3); for (i = 0; i < 10000; i++) { c = i % 3; u = rand() + rand() + rand() - 1.5; v = rand() + rand() - 1
             w = rand() + rand() - 1; printf "%.6f,%.6f,%.6f\n", 4 * c + u, (c == 1 ? 5 : 0) + v + 0.3 * u, c == 2 ? 2 * u + w : w } }' > big.csv
for cov in full diag spherical tied; do
  run_ok "$GMM" big.csv --cov $cov --split 0.1 --threads 1 -o t1/$cov
  run_ok "$GMM" big.csv --cov $cov --split 0.1 --threads 2 -o t2/$cov
  for f in t1/$cov.*; do same_results "$f" "t2/${f#t1/}"; done
done

# --- --k-range: one select.dat row per K; the files are those of the
# smallest BIC
run_ok "$GMM" big.csv --k-range 1:5 --split 0.1 -o k/gmm
check_columns k/gmm.select.dat K ll_train ll_test bic aic n_params seconds
[ "$(column k/gmm.select.dat K | tr '\n' ' ')" = "1 2 3 4 5 " ] || fail "select.dat: K column"
# n_params = (K-1) + 3K + 6K for full covariances in d = 3
[ "$(column k/gmm.select.dat n_params | tr '\n' ' ')" = "9 19 29 39 49 " ] || fail "select.dat: n_params"
best=$(awk 'NR > 1 && (b == "" || $4 < b) { b = $4; k = $1 } END { print k }' k/gmm.select.dat)
[ "$(column k/gmm.summary.tsv k)" = "$best" ] || fail "summary K $(column k/gmm.summary.tsv k), smallest BIC at $best"
[ "$best" = 3 ] || fail "three clusters: BIC chose K = $best"
[ "$(rows k/gmm.weights.dat)" -eq "$best" ] || fail "weights.dat is not of the chosen K"
ok

# --- --init file: starts at the file's means exactly
run_ok "$GMM" big.csv -K 3 --max-iter 0 --init file:k/gmm.means.dat -o f/gmm
same_files k/gmm.means.dat f/gmm.means.dat
[ "$(rows f/gmm.trace.dat)" -eq 1 ] || fail "--max-iter 0: expected the iteration-0 line only"
ok

# --- a column times 1e4, 1e100 or 1e-100: the same responsibilities, ll/N
# shifted by -log c (at 1e100 the squares of the floors overflow: the
# whitening divides by sqrt(F_i) sqrt(F_j), never sqrt(F_i F_j))
run_ok "$GMM" big.csv -K 3 --cov full -o u1/gmm
for c in 1e4 1e100 1e-100; do
  awk -F, -v c=$c '{ printf "%s,%.17g,%s\n", $1, $2 * c, $3 }' big.csv > scaled.csv
  run_ok "$GMM" scaled.csv -K 3 --cov full -o u2/gmm
  awk -v a="$(column u1/gmm.summary.tsv ll_train)" -v b="$(column u2/gmm.summary.tsv ll_train)" -v c=$c \
    'BEGIN { d = b - (a - log(c)); if (d < 0) d = -d; if (d > 1e-8) { print "ll shift off by " d; exit 1 } }' ||
    fail "a column times $c: ll/N not shifted by -log $c"
  paste -d' ' <(grep -v '^#' u1/gmm.latent.dat) <(grep -v '^#' u2/gmm.latent.dat) |
    awk '{ for (z = 1; z <= 3; z++) { e = $z - $(z + 4); if (e < 0) e = -e; if (e > 1e-8) { print "row " NR; bad = 1; exit } } } END { exit bad }' ||
    fail "a column times $c: responsibilities changed"
  ok
done

# --- the same on 10 rows of 5 columns, 5 rows a component: the floor holds
# each Sigma up (its whitening F^-1/2 S F^-1/2 at work); at 1e100 or 1e-100
# a product F_i F_j would leave the doubles (ll/N was -3031.7 and -334444
# for 2.4914)
awk 'BEGIN { for (i = 1; i <= 10; i++) { printf "%.10g", (i % 2) * 5 + sin(i * 1.1)
  for (j = 2; j <= 5; j++) printf ",%.10g", sin(i * j * 0.7) + (i % 2) * j; print "" } }' > few.csv
run_ok "$GMM" -K 2 few.csv -o w1/gmm
grep 'note: .*floor' run.log > few1.notes
[ -s few1.notes ] || fail "10 rows of 5 columns, K = 2: no note on the floor"
for c in 1e100 1e-100; do
  awk -F, -v c=$c '{ printf "%.17g", $1 * c; for (j = 2; j <= NF; j++) printf ",%s", $j; print "" }' few.csv > fewc.csv
  run_ok "$GMM" -K 2 fewc.csv -o w2/gmm
  awk -v a="$(column w1/gmm.summary.tsv ll_train)" -v b="$(column w2/gmm.summary.tsv ll_train)" -v c=$c \
    'BEGIN { d = b - (a - log(c)); if (d < 0) d = -d; if (d > 1e-8) { print "ll shift off by " d; exit 1 } }' ||
    fail "10 rows, column 1 times $c: ll/N not shifted by -log $c"
  grep 'note: .*floor' run.log | sed 's/fewc\.csv/few.csv/g' | cmp -s - few1.notes ||
    fail "10 rows, column 1 times $c: other notes on the floor"
  ok
done

# --- a test ll/N made by one row (tail_data): the note names test line 50,
# field 4, in the data's units and with column 4 times 1e3; none without it
tail_note '^note: ll/N test is made by a few rows: .* the lowest 1 row holds 100 % .* is at tail_te\.csv:50: field 4: ' \
  "1 1e3" "$GMM" -K 2
ok

# --- a duplicated point: the component on it is named, with its line
{ awk 'BEGIN { srand(9); for (i = 0; i < 200; i++) printf "%.6f,%.6f\n", rand() + rand(), rand() - rand() }'
  for i in 1 2 3 4 5 6; do echo "7,7"; done; } > dup.csv
printf '# component x1 x2\n1 1 0\n2 0.5 0.2\n3 7 7\n' > dup_init.dat
run_ok "$GMM" dup.csv -K 3 --init file:dup_init.dat -o dup/gmm
grep -q '^collapsed components: 1 of 3' run.log || { cat run.log; fail "no collapsed component reported"; }
grep -Eq '^  component 3: Sigma on the floor in every direction: it sits on one point \(6 rows, e.g. dup\.csv:20[1-6]\)' run.log ||
  { cat run.log; fail "the collapsed component is not named with its line"; }
[ "$(column dup/gmm.trace.dat n_collapsed | tail -n 1)" = 1 ] || fail "trace: n_collapsed"
all_finite dup/gmm.covariances.dat
all_finite dup/gmm.latent.dat
ok

# --- max-iter reached is reported as not converged
run_ok "$GMM" "$DIGITS" --label-col last --max-iter 2 -o mi/gmm
grep -q '^NOT converged: --max-iter 2 reached' run.log || { cat run.log; fail "no 'NOT converged' report"; }
[ "$(column mi/gmm.summary.tsv converged)" = "0" ] || fail "summary: converged should be 0"
ok

# --- IDX input (images with sibling labels), gzip
head -n 200 "$DIGITS" | perl -ne 'BEGIN { print pack("N4", 0x803, 200, 8, 8) }
  chomp; my @v = split /,/; pop @v; print pack("C*", map { int($_ * 255 / 16) } @v)' |
  gzip > tiny-images-idx3-ubyte.gz
head -n 200 "$DIGITS" | perl -ne 'BEGIN { print pack("N2", 0x801, 200) }
  chomp; my @v = split /,/; print pack("C", $v[-1])' > tiny-labels-idx1-ubyte
run_ok "$GMM" tiny-images-idx3-ubyte.gz -o i/gmm -K 2 --cov diag
check_columns i/gmm.latent.dat r1 r2 assigned label
[ "$(rows i/gmm.latent.dat)" -eq 200 ] || fail "IDX latent rows"
ok

# a full Sigma from fewer rows than dimensions is the floor's: the note names
# the component; on the digits (no such component) there is no note
awk 'BEGIN { srand(4); for (i = 0; i < 12; i++) { for (j = 1; j < 30; j++) printf "%.6f,", rand(); printf "%.6f\n", rand() } }' > wide.csv
"$GMM" wide.csv -K 2 -o w/gmm > wide.log 2>&1 || { cat wide.log; fail "gmm_em on 12 rows x 30"; }
grep -q "^note: component [12]'s 30 x 30 Sigma rests on .* rows: singular but for the floor" wide.log ||
  { cat wide.log; fail "no note on a Sigma with fewer rows than dimensions"; }
# and, before the fit, from the data's shape: 12 rows for two 30 x 30 covariances
grep -q "^note: 12 rows for K = 2 full 30 x 30 covariances, about 6 rows a component, fewer than d + 1" wide.log ||
  { cat wide.log; fail "no note before the fit on too few rows for full covariances"; }
"$GMM" wide.csv -K 2 --cov tied -o w/gmmt > widet.log 2>&1 || fail "gmm_em --cov tied on 12 rows x 30"
grep -q "^note: the tied Sigma is estimated from 12 rows about 2 means in d = 30" widet.log ||
  { cat widet.log; fail "no note on a tied Sigma from too few rows"; }
grep -q "^note: 12 rows about K = 2 means for a tied 30 x 30 covariance, fewer than d + K" widet.log ||
  { cat widet.log; fail "no note before the fit on too few rows for a tied covariance"; }
! grep -q "singular but for the floor" run.log || fail "a note on the digits"
ok
# a column constant within each component (3 doses, one a cluster): Sigma is
# on the floor there, and the note names the column; a continuous column
# alone gives no such note
awk 'BEGIN { srand(7); split("0.5 1 2", v, " "); for (g = 1; g <= 3; g++) for (i = 0; i < 30; i++)
             printf "%.6f,%s\n", 10 * g + rand() + rand() + rand(), v[g] }' > dose.csv
"$GMM" dose.csv -K 3 -o w/dose > dose.log 2>&1 || { cat dose.log; fail "gmm_em on dose.csv"; }
grep -q "^note: 3 of 3 components have Sigma on the floor in some directions (component [123]: 1 of 2), constant in it: field 2: ll/N measures --reg there" dose.log ||
  { cat dose.log; fail "no note on a column constant within the components"; }
"$GMM" dose.csv -K 3 --cov tied -o w/doset > doset.log 2>&1 || fail "gmm_em --cov tied on dose.csv"
grep -q "^note: the tied Sigma is on the floor in 1 of 2 directions, constant in it: field 2:" doset.log ||
  { cat doset.log; fail "no note on a tied Sigma constant in a column"; }
cut -d, -f1 dose.csv > dose1.csv
"$GMM" dose1.csv -K 3 -o w/dose1 > dose1.log 2>&1 || fail "gmm_em on dose1.csv"
! grep -q "on the floor" dose1.log || { cat dose1.log; fail "a floor note on a continuous column"; }
ok
done_ok
