# e2e_lgm.sh -- lgm_em end to end: output files and their columns, --save /
# --load, determinism, a constant column, sampled completion.
source "$SRC/tests/lib.sh"
LGM="$BIN/lgm_em"

# --- the students' first command: DATA alone (the label column is then just a
# feature: 65 columns), default prefix out/lgm
run_ok "$LGM" "$DIGITS"
for f in trace A D mean latent samples; do [ -s out/lgm.$f.dat ] || fail "out/lgm.$f.dat missing"; done
[ -s out/lgm.summary.tsv ] || fail "out/lgm.summary.tsv missing"
ok
# one line an iteration on stdout, with the number of floored D entries
grep -Eq '^ +0 +-?[0-9.]+ +nan +nan ' run.log || { cat run.log; fail "no iteration-0 line"; }
grep -q 'D on the floor' run.log || fail "no floor report"
ok

# --- with labels and a held-out split
run_ok "$LGM" "$DIGITS" --label-col last --split 0.2 -o a/lgm --save a/model.txt
check_columns a/lgm.trace.dat iter ll_train ll_test delta seconds n_floor e_steps ll_exact_em
check_columns a/lgm.A.dat a1 a2
check_columns a/lgm.D.dat D floored
check_columns a/lgm.mean.dat x1 x64
check_columns a/lgm.latent.dat z1 z2 label
check_columns a/lgm.latent_test.dat z1 z2 label
check_columns a/lgm.samples.dat x1 x64
check_columns a/lgm.summary.tsv model family k n_params ll_train ll_test ll_test_se method iterations seconds
# every value finite but the delta of iteration 0 (no previous value: nan)
for c in ll_train ll_test seconds n_floor; do
  ! column a/lgm.trace.dat $c | grep -Eqi 'nan|inf' || fail "trace: $c not finite"
done
[ "$(column a/lgm.trace.dat delta | grep -ci nan)" = 1 ] || fail "trace: delta nan beyond iteration 0"
all_finite a/lgm.latent_test.dat
[ "$(rows a/lgm.A.dat)" -eq 64 ] || fail "A.dat: expected 64 rows"
[ "$(rows a/lgm.D.dat)" -eq 64 ] || fail "D.dat: expected 64 rows"
[ "$(rows a/lgm.mean.dat)" -eq 1 ] || fail "mean.dat: expected 1 row"
[ "$(rows a/lgm.samples.dat)" -eq 64 ] || fail "samples.dat: expected 64 rows (--n-samples default)"
# --split 0.2 of 1797 rows: 359 test rows, 1438 training rows
[ "$(rows a/lgm.latent.dat)" -eq 1438 ] || fail "latent.dat: expected 1438 rows"
[ "$(rows a/lgm.latent_test.dat)" -eq 359 ] || fail "latent_test.dat: expected 359 rows"
ok
# the summary: lgm-exact, continuous, k 2, n_params d + dk + d = 256, method exact
read -r model family k np lltr llte se method iters secs rest < <(tail -n 1 a/lgm.summary.tsv)
[ "$model $family $k $np $method" = "lgm-exact continuous 2 256 exact" ] ||
  fail "summary: $model $family $k $np $method"
[ "$se" = "0" ] || fail "summary: ll_test_se '$se', expected 0 (exact)"
# the last trace line is the summary's fit; ll_train never falls (exact EM)
[ "$(column a/lgm.trace.dat ll_train | tail -n 1)" = "$lltr" ] || fail "trace and summary ll_train differ"
[ "$(column a/lgm.trace.dat ll_test | tail -n 1)" = "$llte" ] || fail "trace and summary ll_test differ"
column a/lgm.trace.dat ll_train | awk 'NR > 1 && $1 < p - 1e-10 * (p < 0 ? -p : p) { bad = 1 } { p = $1 } END { exit bad }' ||
  fail "ll_train decreased in the trace"
# the three constant pixels of the digits (1, 33, 40) sit on the floor
[ "$(column a/lgm.D.dat floored | awk '$1 == 1 { printf "%d ", NR }')" = "1 33 40 " ] ||
  fail "floored coordinates: $(column a/lgm.D.dat floored | awk '$1 == 1 { printf "%d ", NR }')"
ok

# --- --save then --load scores the same test set identically
head -n 400 "$DIGITS" > test400.csv
run_ok "$LGM" "$DIGITS" --label-col last --test test400.csv -o b/lgm --save b/model.txt
run_ok "$LGM" --load b/model.txt --label-col last --test test400.csv -o c/lgm
[ ! -e c/lgm.trace.dat ] || fail "--load wrote a trace"
same_files b/lgm.latent_test.dat c/lgm.latent_test.dat
same_files b/lgm.samples.dat c/lgm.samples.dat
same_files b/lgm.A.dat c/lgm.A.dat
same_files b/lgm.D.dat c/lgm.D.dat
[ "$(column b/lgm.summary.tsv ll_test)" = "$(column c/lgm.summary.tsv ll_test)" ] ||
  fail "ll_test after --load: $(column c/lgm.summary.tsv ll_test), trained: $(column b/lgm.summary.tsv ll_test)"
# and with DATA given, --load scores it as the training run did
run_ok "$LGM" --load b/model.txt --label-col last "$DIGITS" -o d/lgm --n-samples 0
[ "$(column b/lgm.summary.tsv ll_train)" = "$(column d/lgm.summary.tsv ll_train)" ] ||
  fail "ll_train after --load differs"
same_files b/lgm.latent.dat d/lgm.latent.dat
[ ! -e d/lgm.samples.dat ] || fail "--n-samples 0 wrote samples"
ok

# --- same seed, same files (exact and sampled completion, random init)
for opts in "" "--completion sampled --samples 3 --max-iter 30" "--init random -k 5 --accel none"; do
  run_ok "$LGM" "$DIGITS" --label-col last --split 0.25 --seed 7 -o s1/lgm $opts
  run_ok "$LGM" "$DIGITS" --label-col last --split 0.25 --seed 7 -o s2/lgm $opts
  for f in trace.dat A.dat D.dat mean.dat latent.dat latent_test.dat samples.dat summary.tsv; do
    same_results s1/lgm.$f s2/lgm.$f
  done
done
# a different seed draws different samples
run_ok "$LGM" "$DIGITS" --label-col last --seed 8 -o s3/lgm
! cmp -s s1/lgm.samples.dat s3/lgm.samples.dat || fail "--seed does not change the samples"
ok

# --- sampled completion: model id, fluctuating but finite ll, close to exact
run_ok "$LGM" "$DIGITS" --label-col last --completion sampled -o sm/lgm --max-iter 200
[ "$(column sm/lgm.summary.tsv model)" = "lgm-sampled" ] || fail "sampled: model id"
for c in ll_train ll_exact_em; do
  ! column sm/lgm.trace.dat $c | grep -Eqi 'nan|inf' || fail "sampled: $c not finite"
done
# the exact-EM path beside it starts at the same point and ends at exact EM's ll/N
[ "$(column sm/lgm.trace.dat ll_train | head -n 1)" = "$(column sm/lgm.trace.dat ll_exact_em | head -n 1)" ] ||
  fail "sampled: the exact-EM path does not start where the sampled one does"
ll_s=$(column sm/lgm.summary.tsv ll_train)
ll_e=$(column b/lgm.summary.tsv ll_train)
awk -v s="$ll_s" -v e="$ll_e" 'BEGIN { d = s - e; if (d < 0) d = -d; exit !(d <= 0.01 * (e < 0 ? -e : e)) }' ||
  fail "sampled ll/N $ll_s not within 1% of exact $ll_e"
ok

# --- the start (--init best, the default): on the digits with k = 20 the
# smc start's short run ends higher, and the fit from it ends at a higher
# maximum than the fit from the pca start (-100.57 against -100.67)
run_ok "$LGM" "$DIGITS" --label-col last -k 20 -o st/best
grep -Eq '^start: smc, ll/N -[0-9.]+ after 10 EM iterations from each start \(pca: -[0-9.]+\)$' run.log ||
  { cat run.log; fail "no start line naming smc"; }
run_ok "$LGM" "$DIGITS" --label-col last -k 20 --init pca -o st/pca
! grep -q '^start:' run.log || fail "--init pca: a start line"
awk -v b="$(column st/best.summary.tsv ll_train)" -v p="$(column st/pca.summary.tsv ll_train)" \
  'BEGIN { exit !(b > p + 0.05) }' || fail "--init best ends at $(column st/best.summary.tsv ll_train), not above --init pca's $(column st/pca.summary.tsv ll_train) + 0.05"
run_ok "$LGM" "$DIGITS" --label-col last -k 20 --init smc -o st/smc
ok

# --- a constant column does not crash: D hits the floor and the run says so.
# Fields 1 and 2 are one factor plus a little noise each, field 4 noise: one
# factor explains field 1 or 2 alone, a Heywood case, whose D EM drives to
# 0; the step to the floor (docs/lgm.md) puts it there, beside field 3's.
awk 'BEGIN { srand(3); for (i = 0; i < 300; i++) { z = rand() - 0.5; printf "%.6f,%.6f,4.25,%.6f\n", z + 0.1 * rand(), 2 * z + 0.1 * rand(), rand() } }' > const.csv
run_ok "$LGM" const.csv -k 1 -o k/lgm
grep -Eq 'D on the floor at 2 of 4 coordinates' run.log || { cat run.log; fail "no count of the floored coordinates"; }
grep -Eq '^  field 3: constant in the training data \(its floor is --dmin x its value squared' run.log ||
  { cat run.log; fail "no report of coordinate 3 as constant, with its floor"; }
grep -Eq '^  field [12]: explained by the 1 factor alone, a Heywood case' run.log || { cat run.log; fail "no Heywood case named"; }
column k/lgm.D.dat floored | tr '\n' ' ' | grep -Eq '^(1 0|0 1) 1 0 $' || fail "D.dat floored column"
# a column always 0: its floor is --dmin itself, and the note says so
awk -F, '{ print $1 "," $2 ",0," $4 }' const.csv >zero.csv
run_ok "$LGM" zero.csv -k 1 -o z/lgm
grep -Eq '^  field 3: constant in the training data \(always 0: its floor is --dmin itself\)' run.log ||
  { cat run.log; fail "no report of coordinate 3 as always 0"; }
[ "$(column k/lgm.trace.dat n_floor | tail -n 1)" = "2" ] || fail "trace n_floor"
! column k/lgm.trace.dat ll_train | grep -Eqi 'nan|inf' || fail "constant column: ll_train not finite"
ok

# --- a duplicated column: both copies on the floor, each named as a function of the other
awk 'BEGIN { srand(5); for (i = 0; i < 400; i++) { z = rand() - 0.5; a = z + 0.3 * rand(); printf "%.6f,%.6f,%.6f,%.6f,%.6f\n", a, 2 * z + 0.3 * rand(), -z + 0.3 * rand(), a, rand() } }' > dup.csv
run_ok "$LGM" dup.csv -k 1 -o dup/lgm
grep -Eq '^  field 1: a linear function of field 4 ' run.log || { cat run.log; fail "duplicate column 1 not named"; }
grep -Eq '^  field 4: a linear function of field 1 ' run.log || { cat run.log; fail "duplicate column 4 not named"; }
# --- max-iter reached is reported as not converged
run_ok "$LGM" "$DIGITS" --label-col last --max-iter 2 --accel none -o mi/lgm
grep -q '^NOT converged: --max-iter 2 reached' run.log || { cat run.log; fail "no 'NOT converged' report"; }
[ "$(column mi/lgm.summary.tsv converged)" = "0" ] || fail "summary: converged should be 0"
ok
# --- a version-1 model file (one floor for every coordinate) still loads
awk '/^kind lgm 2/ { print "kind lgm 1"; next } /^array floor/ { getline; print "real floor " $1; skip = 1; next }
     skip && /^end/ { skip = 0 } skip { next } { print }' b/model.txt > v1.txt
run_ok "$LGM" --load v1.txt --label-col last --test test400.csv -o v1/lgm
[ "$(column v1/lgm.summary.tsv ll_test)" = "$(column c/lgm.summary.tsv ll_test)" ] || fail "version-1 model scores differently"
ok

# --- scale-equivariance: every column of the digits times 10^u, u uniform in
# [-4, 4]: D_i in the new units is D_i c_i^2 and ll/N shifts by -sum_i log c_i
# over the columns that vary (the three always-0 pixels do not change)
awk -F, 'BEGIN { srand(11); for (j = 1; j <= 64; j++) c[j] = 10 ^ (8 * rand() - 4) }
         { for (j = 1; j <= 64; j++) { printf "%.17g,", $j * c[j]; if ($j != 0) nz[j] = 1 } print $65 }
         END { for (j = 1; j <= 64; j++) { if (nz[j]) s += log(c[j]); printf "%.17g\n", nz[j] ? c[j] : 1 > "c.txt" }
               printf "%.17g\n", s > "logc.txt" }' "$DIGITS" > scaled.csv
run_ok "$LGM" "$DIGITS" --label-col last -o u1/lgm
run_ok "$LGM" scaled.csv --label-col last -o u2/lgm
awk -v a="$(column u1/lgm.summary.tsv ll_train)" -v b="$(column u2/lgm.summary.tsv ll_train)" -v s="$(cat logc.txt)" \
  'BEGIN { d = b - (a - s); if (d < 0) d = -d; if (d > 1e-6) { print "ll shift off by " d; exit 1 } }' ||
  fail "scaled digits: ll/N not shifted by -sum log c"
paste c.txt <(column u1/lgm.D.dat D) <(column u2/lgm.D.dat D) |
  awk '{ r = $3 / ($1 * $1) / $2 - 1; if (r < 0) r = -r; if (r > 1e-6) { print "D row " NR " off by " r; bad = 1 } } END { exit bad }' ||
  fail "scaled digits: D not scaled by c^2"
ok
# ... and at the ends of the range of doubles: one column (pixel 3) times
# 1e-100 or 1e100, the same fit in as many E-steps (SQUAREM's step length scales each
# entry before squaring it: a D_i of 1e-200 squared, weighted by 1/floor_i^2,
# made 0 x inf, and SQUAREM fell back to plain EM steps)
for c in 1e-100 1e100; do
  awk -F, -v OFS=, -v c=$c '{ $3 = sprintf("%.17g", $3 * c); print }' "$DIGITS" > scaled1.csv
  run_ok "$LGM" scaled1.csv --label-col last -o u3/lgm
  [ "$(column u3/lgm.summary.tsv e_steps)" = "$(column u1/lgm.summary.tsv e_steps)" ] ||
    fail "pixel 3 times $c: $(column u3/lgm.summary.tsv e_steps) E-steps, $(column u1/lgm.summary.tsv e_steps) in the data's units"
  awk -v a="$(column u1/lgm.summary.tsv ll_train)" -v b="$(column u3/lgm.summary.tsv ll_train)" -v c=$c \
    'BEGIN { d = b - (a - log(c)); if (d < 0) d = -d; exit !(d < 1e-6) }' ||
    fail "pixel 3 times $c: ll/N not shifted by -log c"
  ok
done

# --- a test ll/N made by one row: column 4 is 0 in the 300 training rows
# but one (0.01), and test row 50 of 120 holds 5 there (tail_data): its
# log-likelihood, about -3.8e7 nats, is the mean's; the note names its line
# and field, in any units of the column, and is absent without that row
tail_note '^note: ll/N test is made by a few rows: .* the lowest 1 row holds 100 % .* to tail_te\.csv:50: field 4: ' \
  "1 1e-3 1e3" "$LGM" -k 1
ok

# --- IDX input (images with sibling labels), gzip
# 200 digits as 8x8 unsigned-byte images (0..16 -> 0..255) and their labels
head -n 200 "$DIGITS" | perl -ne 'BEGIN { print pack("N4", 0x803, 200, 8, 8) }
  chomp; my @v = split /,/; pop @v; print pack("C*", map { int($_ * 255 / 16) } @v)' |
  gzip > tiny-images-idx3-ubyte.gz
head -n 200 "$DIGITS" | perl -ne 'BEGIN { print pack("N2", 0x801, 200) }
  chomp; my @v = split /,/; print pack("C", $v[-1])' > tiny-labels-idx1-ubyte
run_ok "$LGM" tiny-images-idx3-ubyte.gz -o i/lgm -k 3
check_columns i/lgm.latent.dat z1 z2 z3 label
[ "$(rows i/lgm.latent.dat)" -eq 200 ] || fail "IDX latent rows"
ok

# --- --help names every option with its default
"$LGM" --help > help.txt
for o in -k --completion --samples --dmin --init --tol --max-iter --n-samples --seed --test --split --label-col --output --save --load --threads --quiet; do
  grep -q -- "$o" help.txt || fail "--help lacks $o"
done
ok
done_ok
