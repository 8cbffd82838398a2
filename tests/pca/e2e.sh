#!/bin/bash
# tests/pca/e2e.sh -- pca_iter end to end on the bundled digits and on a
# tiny IDX file: the output files and their columns, components orthonormal
# and ordered, --save then --load reproduces the scores, the same seed gives
# identical files, both modes agree, --ref measures the angle to a reference.
source "$SRC/tests/lib.sh"
P="$BIN/pca_iter"

# bytes V...: write the bytes of the given decimal values to stdout
bytes() { local s="" v; for v in "$@"; do s+=$(printf '\\%03o' "$v"); done; printf "$s"; }

# ---- a run with a held-out split, saving the model ----
run_ok "$P" --label-col last --split 0.2 -k 3 --seed 5 -o out/a --save out/a.model "$DIGITS"
check_columns out/a.trace.dat iter recon_mse explained_var max_angle ref_angle seconds
check_columns out/a.components.dat eigenvalue x1 x64
check_columns out/a.latent.dat z1 z2 z3 label
check_columns out/a.latent_test.dat z1 z2 z3 label
check_columns out/a.summary.tsv model family k n_params ll_train ll_test ll_test_se method \
  iterations seconds
[ "$(rows out/a.components.dat)" -eq 3 ] || fail "components: $(rows out/a.components.dat) rows, expected 3"
[ "$(rows out/a.latent.dat)" -eq 1438 ] || fail "latent: $(rows out/a.latent.dat) rows, expected 1438"
[ "$(rows out/a.latent_test.dat)" -eq 359 ] || fail "latent_test: rows, expected 359"
ok
for f in out/a.components.dat out/a.latent.dat out/a.latent_test.dat; do all_finite "$f"; done
# one printed line an iteration, as many as the trace has rows
[ "$(grep -c '^iter ' run.log)" -eq "$(rows out/a.trace.dat)" ] || fail "progress lines != trace rows"
ok
# the summary's shared values: PPCA has d + d k + 1 = 64 + 192 + 1 parameters
[ "$(column out/a.summary.tsv model)" = pca ] || fail "model column"
[ "$(column out/a.summary.tsv family)" = continuous ] || fail "family column"
[ "$(column out/a.summary.tsv method)" = exact ] || fail "method column"
[ "$(column out/a.summary.tsv n_params)" = 257 ] || fail "n_params column"
[ "$(column out/a.summary.tsv converged)" = 1 ] || fail "did not converge"
ok
# components: rows orthonormal to 1e-12, eigenvalues descending, and the
# trace's last iteration agrees with the summary
awk 'NR > 1 { n++; e[n] = $1; for (i = 2; i <= NF; i++) u[n, i] = $i; d = NF }
     END { for (a = 1; a <= n; a++) { if (a > 1 && e[a] > e[a - 1]) { print "not descending"; exit 1 }
             for (b = 1; b <= n; b++) { s = 0; for (i = 2; i <= d; i++) s += u[a, i] * u[b, i]
               t = (a == b) ? 1 : 0; if (s - t > 1e-12 || t - s > 1e-12) { print "dot", a, b, s; exit 1 } } } }' \
  out/a.components.dat || fail "components not orthonormal or not ordered"
ok
[ "$(column out/a.trace.dat iter | tail -1)" = "$(column out/a.summary.tsv iterations)" ] \
  || fail "trace and summary disagree on the iterations"
ok

# ---- another seed: another random start (another trace), the same subspace ----
run_ok "$P" --label-col last --split 0.2 -k 3 --seed 9 -o out/s9 "$DIGITS"
! cmp -s <(column out/a.trace.dat max_angle) <(column out/s9.trace.dat max_angle) ||
  fail "--seed 9 gave the same iterations as --seed 5"
paste <(column out/a.components.dat eigenvalue) <(column out/s9.components.dat eigenvalue) |
  awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) exit 1 }' || fail "--seed 9: other eigenvalues"
ok

# ---- same seed, same input: the same files ----
run_ok "$P" --label-col last --split 0.2 -k 3 --seed 5 -o out/b --save out/b.model "$DIGITS"
for f in trace.dat summary.tsv; do same_results "out/a.$f" "out/b.$f"; done
for f in components.dat latent.dat latent_test.dat; do same_files "out/a.$f" "out/b.$f"; done
same_files out/a.model out/b.model

# ---- --load reproduces the scores without training ----
run_ok "$P" --load out/a.model --label-col last --split 0.2 -o out/c "$DIGITS"
for f in components.dat latent.dat latent_test.dat; do same_files "out/a.$f" "out/c.$f"; done
for c in ll_train ll_test recon_mse recon_mse_test; do
  [ "$(column out/a.summary.tsv $c)" = "$(column out/c.summary.tsv $c)" ] || fail "--load: $c differs"
done
[ ! -e out/c.trace.dat ] || fail "--load wrote a trace"
ok
# a test file alone: only its projections
head -n 100 "$DIGITS" > part.csv
run_ok "$P" --load out/a.model --label-col last --test part.csv -o out/d
[ "$(rows out/d.latent_test.dat)" -eq 100 ] && [ ! -e out/d.latent.dat ] || fail "--load --test outputs"
[ "$(column out/d.summary.tsv ll_train)" = nan ] || fail "--load --test: ll_train should be nan"
ok

# ---- data and cov modes: the same components (the same map from one seed) ----
run_ok "$P" --label-col last -k 4 --mode data --tol 1e-11 -o out/m0 "$DIGITS"
run_ok "$P" --label-col last -k 4 --mode cov --tol 1e-11 -o out/m1 "$DIGITS"
[ "$(column out/m0.summary.tsv mode)" = data ] && [ "$(column out/m1.summary.tsv mode)" = cov ] \
  || fail "--mode not honoured"
paste <(column out/m0.components.dat eigenvalue) <(column out/m1.components.dat eigenvalue) |
  awk '{ r = ($1 - $2) / $2; if (r < 0) r = -r; if (r > 1e-10) { print "eigenvalue", NR, $1, $2; exit 1 } }' \
  || fail "modes disagree on eigenvalues"
ok
# --ref: the angle to the data-mode components, measured every iteration
run_ok "$P" --label-col last -k 4 --mode cov --ref out/m0.components.dat -o out/r "$DIGITS"
awk -v a="$(column out/r.trace.dat ref_angle | tail -1)" 'BEGIN { exit !(a + 0 < 1e-8) }' \
  || fail "ref_angle at the end is not < 1e-8"
[ "$(column out/r.trace.dat ref_angle | head -1)" != nan ] || fail "ref_angle missing"
ok

# ---- an IDX file (12 images of 2 x 3 pixels) with its labels beside it ----
px=()
for i in $(seq 0 11); do for j in $(seq 0 5); do px+=($(( (i * i * 7 + j * 13 + i * j * 5) % 251 ))); done; done
bytes 0 0 8 3 0 0 0 12 0 0 0 2 0 0 0 3 "${px[@]}" > tiny-images-idx3-ubyte
bytes 0 0 8 1 0 0 0 12 0 1 2 3 4 5 6 7 8 9 0 1 > tiny-labels-idx1-ubyte
run_ok "$P" -k 2 -o out/idx tiny-images-idx3-ubyte
check_columns out/idx.latent.dat z1 z2 label
check_columns out/idx.components.dat eigenvalue x1 x6
[ "$(rows out/idx.latent.dat)" -eq 12 ] || fail "IDX: latent rows"
[ "$(column out/idx.latent.dat label | tail -1)" = 1 ] || fail "IDX: labels not read"
ok

# ---- a uniform rescaling of the data changes nothing but the units: the
# PPCA log-likelihood shifts by exactly -d log c (d = 64, c = 1000) and the
# latent positions scale by c; mixed units get a note ----
awk -F, '{ for (j = 1; j <= 64; j++) printf "%.17g,", $j * 1000; print $65 }' "$DIGITS" > d1000.csv
run_ok "$P" --label-col last --split 0.2 -o out/u1 "$DIGITS"
run_ok "$P" --label-col last --split 0.2 -o out/u2 d1000.csv
for c in ll_train ll_test; do
  awk -v a="$(column out/u1.summary.tsv $c)" -v b="$(column out/u2.summary.tsv $c)" \
    'BEGIN { d = b - a + 64 * log(1000); if (d < 0) d = -d; exit !(d < 1e-8) }' ||
    fail "$c: not shifted by -64 log 1000"
done
paste <(column out/u1.latent.dat z1) <(column out/u2.latent.dat z1) |
  awk '{ r = $2 / 1000 - $1; if (r < 0) r = -r; if (r > 1e-9 * (1 + ($1 < 0 ? -$1 : $1))) bad = 1 } END { exit bad }' ||
  fail "latent positions not scaled by 1000"
ok
! grep -q '^note: the columns' run.log || fail "a note on the digits' scales"
awk -F, '{ printf "%s,%.17g", $1, $2 * 1e6; for (j = 3; j <= 64; j++) printf ",%s", $j; print "" }' "$DIGITS" > mixed.csv
run_ok "$P" -o out/mx mixed.csv
grep -q "^note: the columns' standard deviations span a factor .* (field 2 largest" run.log ||
  fail "no note on mixed scales"
ok

# ---- --help shows every option with its default; --quiet prints no iterations ----
"$P" --help > help.txt || fail "--help failed"
for o in -k --mode --oversample --tol --max-iter --ref --seed --test --save --load --quiet; do
  grep -q -- "$o" help.txt || fail "--help lacks $o"
done
grep -q "(default: 2, or 1 for data of 2 columns)" help.txt && grep -q "(default: out/pca)" help.txt || fail "--help defaults"
ok
run_ok "$P" --label-col last --quiet -o out/q "$DIGITS"
! grep -q '^iter ' run.log || fail "--quiet printed iterations"
grep -q 'log-likelihood' run.log || fail "--quiet dropped the final report"
ok
done_ok
