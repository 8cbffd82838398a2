# test_vae_est_cli.sh -- nlgm_vae's gradient estimators and objectives end to
# end on the bundled digits: the KL warm-up is what --help says, --grad-var
# writes the variance of every estimator without changing the training,
# the score-function estimator trains (Bernoulli and Gaussian), the IWAE
# bound lies above the ELBO and with K = 1 trains exactly as the ELBO, the
# summary's active units are those of the latent file, and bad combinations
# of options are refused.
source "$SRC/tests/lib.sh"
V="$BIN/nlgm_vae"

head -n 1437 "$DIGITS" >train.csv
tail -n +1438 "$DIGITS" >test.csv
B=(--label-col last --test test.csv --scale 16 --binarize threshold --hidden 64 --batch 100 --iw 10
   --threads 2 --seed 3)
nb=15 # minibatches an epoch: 1437 rows in batches of 100

# ---- beta and the KL warm-up: the schedule of --help ----
"$V" --help | tr '\n' ' ' | tr -s ' ' >help.txt  # the wrapped lines joined
grep -qF "the KL weight rises linearly from 0 to B over the first E epochs" help.txt &&
  grep -qF "B min(1, t / (E nb)) at minibatch t = 0, 1, ... of nb an epoch" help.txt ||
  fail "--help does not state the warm-up schedule"
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 4 --beta 0.5 --kl-warmup 2 -o w/vae
check_columns w/vae.trace.dat epoch loss_train kl_train beta
# the trace's beta is the mean weight of the epoch's steps t = (e-1) nb .. e nb - 1
column w/vae.trace.dat beta | awk -v nb=$nb '{ e = NR; s = 0
    for (t = (e - 1) * nb; t < e * nb; t++) { r = t / (2 * nb); s += 0.5 * (r < 1 ? r : 1) }
    want = s / nb; d = $1 - want; if (d < 0) d = -d
    if (d > 1e-12) { print "epoch " e ": beta " $1 ", expected " want; bad = 1 } }
    END { exit bad }' || fail "the warm-up's weights are not B min(1, t / (E nb))"
[ "$(column w/vae.summary.tsv model)" = vae-mlp-bernoulli-beta0.5 ] || fail "model name with --beta"
ok
# no warm-up: the weight B from the first step; the default has no beta column
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 2 --beta 0.25 -o w0/vae
[ "$(column w0/vae.trace.dat beta | sort -u)" = 0.25 ] || fail "--beta 0.25 without warm-up"
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 2 -o d/vae
! head -n 1 d/vae.trace.dat | grep -qw beta || fail "the default trace has a beta column"
ok

# ---- --grad-var: every estimator's variance, the training unchanged ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 --grad-var 10 -o g/vae
check_columns g/vae.gradvar.dat epoch estimator baseline mean_var total_var snr
[ "$(rows g/vae.gradvar.dat)" -eq 16 ] || fail "gradvar: $(rows g/vae.gradvar.dat) rows, expected 4 x 4"
awk 'NR > 1 { k = (NR - 2) % 4; e = int((NR - 2) / 4)
       want = k == 0 ? "reparam none" : k == 1 ? "score none" : k == 2 ? "score mean" : "score net"
       if ($1 != e || $2 " " $3 != want) { print "row " NR - 1 ": " $1 " " $2 " " $3; bad = 1 }
       if (!($4 > 0 && $5 > 0 && $6 > 0)) { print "row " NR - 1 ": not positive"; bad = 1 }
       # mean_var is total_var over the 64*64+64 + 4*64+4 parameters of the encoder
       r = $5 / $4 / 4420; if (r < 1 - 1e-9 || r > 1 + 1e-9) { print "row " NR - 1 ": mean_var"; bad = 1 }
       v[e, k] = $5 }
     END { for (e = 0; e <= 3; e++) {
             # the reparameterised gradient varies far less than the score function
             if (!(v[e, 0] * 10 < v[e, 1])) { print "epoch " e ": reparam " v[e, 0] ", score " v[e, 1]; bad = 1 }
             # trained baselines reduce the variance of the score function
             if (e > 0 && !(v[e, 2] < v[e, 1] && v[e, 3] < v[e, 1])) {
               print "epoch " e ": score " v[e, 1] ", with mean " v[e, 2] ", net " v[e, 3]; bad = 1 } }
           exit bad }' g/vae.gradvar.dat || fail "gradvar.dat"
ok
# the measurement changes nothing else: the same files as without it
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 -o g0/vae
for f in trace.dat latent.dat samples.dat recon.dat summary.tsv; do same_results g/vae.$f g0/vae.$f; done
[ ! -e g0/vae.gradvar.dat ] || fail "a gradvar file without --grad-var"
# and repeats with the seed
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 --grad-var 10 -o g2/vae
same_files g/vae.gradvar.dat g2/vae.gradvar.dat
ok

# ---- the score function trains, on both likelihoods ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 12 --estimator score --baseline net -o s/vae
[ "$(column s/vae.summary.tsv model)" = vae-mlp-bernoulli-score-net ] || fail "model name (score)"
first=$(column s/vae.trace.dat loss_test | head -n 1)
last=$(column s/vae.trace.dat loss_test | tail -n 1)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 3) }' || fail "score, Bernoulli: test loss $first -> $last"
ok
run_ok "$V" train.csv --label-col last --test test.csv --likelihood gaussian --standardize overall \
  --hidden 64 -k 2 --epochs 12 --estimator score --baseline mean --threads 2 -o sg/vae
first=$(column sg/vae.trace.dat loss_test | head -n 1)
last=$(column sg/vae.trace.dat loss_test | tail -n 1)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 3) }' || fail "score, Gaussian: test loss $first -> $last"
all_finite sg/vae.trace.dat
ok

# ---- the IWAE bound ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 --objective iwae --samples 5 -o i/vae
check_columns i/vae.trace.dat loss_train loss_iwae_train
[ "$(column i/vae.summary.tsv model)" = vae-mlp-bernoulli-iwae5 ] || fail "model name (iwae)"
# -L_K <= -ELBO on the same draws, row by row (Jensen), so epoch by epoch
awk 'NR > 1 { if (!($12 < $2)) exit 1 }' i/vae.trace.dat || fail "IWAE: -L_5 not below -ELBO"
# K = 1: the same gradient as the ELBO's, so the same training
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 --objective iwae --samples 1 -o i1/vae
awk 'NR > 1 { d = $12 - $2; if (d < 0) d = -d; if (d > 1e-12 * $2) exit 1 }' i1/vae.trace.dat ||
  fail "IWAE with K = 1: -L_1 is not the -ELBO"
cut -d' ' -f1-8 i1/vae.trace.dat >i1.trace
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 3 -o e3/vae
cut -d' ' -f1-8 e3/vae.trace.dat >e3.trace
same_files i1.trace e3.trace
same_files i1/vae.latent.dat e3/vae.latent.dat
ok

# ---- active units: the latent file's columns of variance above 0.01 ----
run_ok "$V" train.csv "${B[@]}" -k 6 --epochs 5 -o a/vae
au=$(column a/vae.summary.tsv active_units)
want=$(awk 'NR > 1 { n++; for (j = 1; j <= 6; j++) { s[j] += $j; q[j] += $j * $j } }
            END { for (j = 1; j <= 6; j++) { m = s[j] / n; if (q[j] / n - m * m > 0.01) c++ } print c + 0 }' \
       a/vae.latent.dat)
[ "$au" = "$want" ] || fail "active_units $au, the latent file's $want"
awk -v a="$au" 'BEGIN { exit !(a >= 1 && a <= 6) }' || fail "active_units $au"
ok

# ---- combinations that make no sense ----
expect_error out/vae "--baseline mean applies to --estimator score" "$V" train.csv --baseline mean -o out/vae
expect_error out/vae "--objective iwae: the bound's gradient is reparameterised only" \
  "$V" train.csv --objective iwae --estimator score -o out/vae
expect_error out/vae "--beta and --kl-warmup weight the ELBO's KL term" \
  "$V" train.csv --objective iwae --beta 2 -o out/vae
expect_error out/vae "--beta -1: expected a KL weight in \[0, 1e6\]" "$V" train.csv --beta -1 -o out/vae
expect_error out/vae "--kl-warmup -1: expected 0 \.\. 1000000" "$V" train.csv --kl-warmup -1 -o out/vae
expect_error out/vae "--grad-var 1: expected 2 \.\. 100000" "$V" train.csv --grad-var 1 -o out/vae
expect_error out/vae "option --estimator: expected one of reparam\|score" \
  "$V" train.csv --estimator bogus -o out/vae
done_ok
