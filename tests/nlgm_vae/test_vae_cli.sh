# test_vae_cli.sh -- nlgm_vae end to end on the bundled digits: the files and
# their columns, training lowers the test loss (and beats the independent-
# pixels model), --save/--load reproduce the estimate (no binarisation,
# dynamic, threshold, IDX), the same seed and thread count give identical
# files, the binarisations, IDX input, and bad input (one line on stderr,
# exit 1, no file left behind).
source "$SRC/tests/lib.sh"
V="$BIN/nlgm_vae"

# a fixed train/test split of the digits (labels last), grey levels 0..16
head -n 1437 "$DIGITS" >train.csv
tail -n +1438 "$DIGITS" >test.csv
B=(--label-col last --test test.csv --scale 16 --hidden 64 --batch 64 --iw 20 --threads 2 --seed 3)

# ---- a Bernoulli VAE with k = 2: every file and its columns ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 30 -o a/vae --save a/model.vae
check_columns a/vae.trace.dat epoch loss_train recon_train kl_train loss_test recon_test kl_test \
    sigma2 seconds train_seconds samples_per_sec
[ "$(rows a/vae.trace.dat)" -eq 30 ] || fail "trace: $(rows a/vae.trace.dat) rows, expected 30"
check_columns a/vae.latent.dat z1 z2 label
[ "$(rows a/vae.latent.dat)" -eq 360 ] || fail "latent: expected the 360 test rows"
check_columns a/vae.samples.dat x1 x64
[ "$(rows a/vae.samples.dat)" -eq 64 ] || fail "samples: expected 64 rows"
check_columns a/vae.recon.dat sample source x1 x64
[ "$(rows a/vae.recon.dat)" -eq 128 ] || fail "recon: expected 2 x 64 rows"
check_columns a/vae.manifold.dat row col z1 z2 x1 x64
[ "$(rows a/vae.manifold.dat)" -eq 400 ] || fail "manifold: expected 20 x 20 rows"
check_columns a/vae.summary.tsv model family k n_params ll_train ll_test ll_test_se method \
    iterations seconds elbo_train elbo_test iw_k ll_train_rows
for f in latent samples recon manifold; do all_finite a/vae.$f.dat; done
[ "$(column a/vae.summary.tsv model)" = vae-mlp-bernoulli ] || fail "model name"
[ "$(column a/vae.summary.tsv family)" = binary ] || fail "family"
[ "$(column a/vae.summary.tsv method)" = iw-20 ] || fail "method"
# parameters: 64*64+64 + 4*64+4 + 64*2+64 + 64*64+64 (no sigma^2)
[ "$(column a/vae.summary.tsv n_params)" -eq 8772 ] || fail "n_params $(column a/vae.summary.tsv n_params)"
# Bernoulli outputs are probabilities; recon source rows are the scaled inputs
awk 'NR > 1 { for (i = 1; i <= NF; i++) if ($i < 0 || $i > 1) exit 1 }' a/vae.samples.dat \
    || fail "samples outside [0, 1]"
awk 'NR > 1 && $2 == 0 { for (i = 3; i <= NF; i++) if ($i < 0 || $i > 1) exit 1 }' a/vae.recon.dat \
    || fail "recon inputs outside [0, 1]"
# manifold grid: row 1 has the largest z2, col 1 the smallest z1, symmetric quantiles
awk 'NR == 2 { z1 = $3; z2 = $4 } END { if (!(z1 < 0 && z2 > 0 && z1 + z2 == 0)) exit 1 }' \
    a/vae.manifold.dat || fail "manifold grid orientation"
ok

# training lowers the test loss (epoch 1 -> last) ...
first=$(column a/vae.trace.dat loss_test | head -n 1)
last=$(column a/vae.trace.dat loss_test | tail -n 1)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "test loss $first -> $last"
ok
# ... and the trained model beats the independent-pixels Bernoulli model
# p_j = training mean of x_j / 16 (its cross-entropy on the test set is an
# upper bound any reasonable density model should go below)
base=$(awk -F, 'NR == FNR { for (j = 1; j < NF; j++) s[j] += $j / 16; n++; next }
          { for (j = 1; j < NF; j++) { p = s[j] / n; if (p < 1e-6) p = 1e-6; if (p > 1 - 1e-6) p = 1 - 1e-6
              x = $j / 16; c += -(x * log(p) + (1 - x) * log(1 - p)) } m++ }
          END { printf "%.6f", c / m }' train.csv test.csv)
awk -v a="$base" -v b="$last" 'BEGIN { exit !(b < a - 1) }' \
    || fail "test -ELBO $last not below the independent-pixels loss $base"
ok
# the importance-weighted estimate is at least the ELBO (on average)
ll=$(column a/vae.summary.tsv ll_test)
el=$(column a/vae.summary.tsv elbo_test)
awk -v l="$ll" -v e="$el" 'BEGIN { exit !(l > e) }' || fail "ll_test $ll below elbo_test $el"
ok

# ---- --load evaluates the saved model: the same estimate with the same seed ----
run_ok "$V" --load a/model.vae "${B[@]}" -k 2 -o b/vae
for c in ll_test elbo_test ll_test_se n_params; do
    [ "$(column a/vae.summary.tsv $c)" = "$(column b/vae.summary.tsv $c)" ] \
        || fail "--load: $c differs: $(column a/vae.summary.tsv $c) vs $(column b/vae.summary.tsv $c)"
done
same_files a/vae.latent.dat b/vae.latent.dat
same_files a/vae.samples.dat b/vae.samples.dat
[ ! -e b/vae.trace.dat ] || fail "--load wrote a trace"
# --load without DATA or --test still draws samples
run_ok "$V" --load a/model.vae --seed 3 -o c/vae
same_files a/vae.samples.dat c/vae.samples.dat

# ---- determinism: same seed and threads -> identical files; another seed differs ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 30 -o a2/vae --save a2/model.vae
for f in trace.dat latent.dat samples.dat recon.dat manifold.dat summary.tsv; do
    same_results a/vae.$f a2/vae.$f
done
same_files a/model.vae a2/model.vae
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 30 --seed 4 -o s4/vae
! cmp -s a/vae.latent.dat s4/vae.latent.dat || fail "--seed 4 gave the same latent file"
ok

# ---- the default epochs follow the data's size: 60 rows make one minibatch
# of 128 an epoch, so 1000 epochs (1000 Adam steps, no few-steps note); the
# console shows 60 of them, the trace all ----
awk 'BEGIN { srand(3); for (i = 0; i < 60; i++) { t = rand(); printf "%.6f,%.6f,%.6f\n", t, 2 * t + 0.1 * rand(), rand() } }' > small.csv
"$V" small.csv --likelihood gaussian --hidden 8 --iw 5 -o sm/vae > small.log 2>&1 || { cat small.log; fail "default epochs on 60 rows"; }
[ "$(rows sm/vae.trace.dat)" -eq 1000 ] || fail "60 rows: $(rows sm/vae.trace.dat) epochs, expected 1000"
! grep -q "far from a trained VAE" small.log || fail "a few-steps note on a default run"
! grep -q "constant in the training rows" small.log || fail "a constant-column note on small.csv"
[ "$(grep -c '^epoch' small.log)" -eq 60 ] || fail "60 rows: $(grep -c '^epoch' small.log) epoch lines printed, expected 60"
"$V" small.csv --likelihood gaussian --hidden 8 --iw 5 --epochs 3 -o sm3/vae > small3.log 2>&1 || fail "--epochs 3"
[ "$(rows sm3/vae.trace.dat)" -eq 3 ] || fail "--epochs 3 gave $(rows sm3/vae.trace.dat) epochs"
grep -q "^note: 3 epochs of 1 minibatches make 3 Adam steps" small3.log || { cat small3.log; fail "no few-steps note"; }
# a rate that blows the parameters up in an epoch's last step, whose loss no
# minibatch check sees: refused (sigma2 inf was written, exit 0)
expect_error lr/vae "^nlgm_vae: epoch 1: a parameter \(or sigma\^2\) is not finite after the last step \(try a smaller --lr\)" \
  "$V" small.csv --likelihood gaussian --decoder linear --hidden 0 --lr 1000 --epochs 2 -o lr/vae
ok

# ---- Gaussian, linear decoder and encoder: densities in the data's units ----
run_ok "$V" train.csv --label-col last --test test.csv --likelihood gaussian --decoder linear \
    --hidden 0 -k 5 --epochs 30 --batch 64 --lr 3e-3 --iw 50 --threads 2 -o g/vae
check_columns g/vae.summary.tsv sigma2
[ "$(column g/vae.summary.tsv model)" = vae-linear-gaussian ] || fail "model name (gaussian)"
[ "$(column g/vae.summary.tsv family)" = continuous ] || fail "family (gaussian)"
# n_params: heads 10*64+10, decoder 64*5+64, sigma^2
[ "$(column g/vae.summary.tsv n_params)" -eq 1035 ] || fail "n_params (gaussian)"
s2=$(column g/vae.summary.tsv sigma2)
awk -v s="$s2" 'BEGIN { exit !(s > 0.1 && s < 100) }' || fail "sigma2 $s2 (grey levels^2)"
all_finite g/vae.trace.dat
# the Gaussian VAE's -ELBO must beat the model it contains with a decoder that
# ignores z: independent N(m_j, s2) with the training means m_j and one
# variance s2 (their average variance), a density in the same units
gbase=$(awk -F, 'NR == FNR { for (j = 1; j < NF; j++) { s[j] += $j; q[j] += $j * $j } n++; d = NF - 1; next }
           FNR == 1 { for (j = 1; j <= d; j++) { m[j] = s[j] / n; v += (q[j] / n - m[j] * m[j]) / d } }
           { for (j = 1; j <= d; j++) c += 0.5 * (log(2 * 3.141592653589793 * v) + ($j - m[j]) ^ 2 / v); r++ }
           END { printf "%.6f", c / r }' train.csv test.csv)
glast=$(column g/vae.trace.dat loss_test | tail -n 1)
awk -v a="$gbase" -v b="$glast" 'BEGIN { exit !(b < a) }' \
    || fail "Gaussian test -ELBO $glast not below the isotropic independent Gaussian's $gbase"
ok
# fixed sigma^2 stays fixed
run_ok "$V" train.csv --label-col last --likelihood gaussian --sigma2 2.5 --hidden 16 -k 2 \
    --epochs 2 --iw 5 -o g2/vae
awk 'NR > 1 { if ($8 != 2.5 && ($8 - 2.5) ^ 2 > 1e-12) exit 1 }' g2/vae.trace.dat || fail "sigma2 moved"
ok

# a change of units changes nothing else.  --standardize column (the
# default): column j times c_j = 10^((j mod 9) - 4), from 1e-4 to 1e4; the
# VAE trains on the same standardised values and its log-likelihood estimate
# shifts by -sum_j log c_j over the columns that are not always 0 (a column of
# zeros is 0 in every unit).  --standardize overall: the same for a uniform
# factor, -d log c (d = 64, c = 1000).
scale_cols() { # FILE FACTOR|columns
  awk -F, -v f="$2" '{ for (j = 1; j <= 64; j++) {
      c = f == "columns" ? 10 ^ ((j % 9) - 4) : f; printf "%.17g,", $j * c }
    print $65 }' "$1"
}
scale_cols train.csv columns > tc.csv
scale_cols test.csv columns > sc.csv
scale_cols train.csv 1000 > t1000.csv
scale_cols test.csv 1000 > s1000.csv
shift=$(awk -F, '{ for (j = 1; j <= 64; j++) if ($j != 0) nz[j] = 1 }
  END { for (j = 1; j <= 64; j++) if (nz[j]) s -= log(10 ^ ((j % 9) - 4)); printf "%.17g", s }' train.csv)
run_ok "$V" train.csv --label-col last --test test.csv --likelihood gaussian -k 2 --epochs 3 --iw 5 -o u1/vae
# the digits' first pixel is 0 in every row: standardised by 1, and named
grep -Eq "^note: field 1 and [0-9]+ more columns? are constant in the training rows" run.log ||
  fail "no note of the constant columns"
run_ok "$V" tc.csv --label-col last --test sc.csv --likelihood gaussian -k 2 --epochs 3 --iw 5 -o u2/vae
run_ok "$V" train.csv --label-col last --test test.csv --likelihood gaussian --standardize overall \
  -k 2 --epochs 3 --iw 5 -o u3/vae
! grep -q "constant in the training rows" run.log || fail "a constant-column note with one scale"
run_ok "$V" t1000.csv --label-col last --test s1000.csv --likelihood gaussian --standardize overall \
  -k 2 --epochs 3 --iw 5 -o u4/vae
for c in ll_train ll_test elbo_test; do
  awk -v a="$(column u1/vae.summary.tsv $c)" -v b="$(column u2/vae.summary.tsv $c)" -v s="$shift" \
    'BEGIN { d = b - a - s; if (d < 0) d = -d; exit !(d < 1e-6) }' ||
    fail "Gaussian VAE $c: not shifted by $shift under the columns' factors"
  awk -v a="$(column u3/vae.summary.tsv $c)" -v b="$(column u4/vae.summary.tsv $c)" \
    'BEGIN { d = b - a + 64 * log(1000); if (d < 0) d = -d; exit !(d < 1e-6) }' ||
    fail "Gaussian VAE (overall) $c: not shifted by -64 log 1000"
done
# and the fit itself: the same sigma^2 (a fraction of each column's variance)
# and the same latent means
[ "$(column u1/vae.summary.tsv sigma2)" = "$(column u2/vae.summary.tsv sigma2)" ] ||
  awk -v a="$(column u1/vae.summary.tsv sigma2)" -v b="$(column u2/vae.summary.tsv sigma2)" \
    'BEGIN { exit !((a - b) ^ 2 < 1e-12 * a * a) }' || fail "sigma2 changed with the units"
awk 'NR == FNR { if (FNR > 1) for (j = 1; j <= NF; j++) a[FNR, j] = $j; next }
     FNR > 1 { for (j = 1; j <= NF; j++) { d = $j - a[FNR, j]; if (d * d > 1e-10 * (1 + $j * $j)) exit 1 } }' \
  u1/vae.latent.dat u2/vae.latent.dat || fail "latent means changed with the units"
ok

# ---- dynamic binarisation runs and is reproducible ----
run_ok "$V" train.csv "${B[@]}" --binarize dynamic -k 3 --epochs 3 -o dy/vae --save dy/model.vae
run_ok "$V" train.csv "${B[@]}" --binarize dynamic -k 3 --epochs 3 -o dy2/vae
same_results dy/vae.summary.tsv dy2/vae.summary.tsv
awk 'NR > 1 && $2 == 0 { for (i = 3; i <= NF; i++) if ($i != 0 && $i != 1) exit 1 }' dy/vae.recon.dat \
    || fail "dynamic binarisation: recon inputs are not binary"
# the model file keeps the binarisation: --load scores the same draws of the
# test and training rows (their own streams of --seed)
grep -q '^str binarize dynamic$' dy/model.vae || fail "dynamic binarisation not in the model file"
run_ok "$V" --load dy/model.vae train.csv "${B[@]}" -o dyl/vae
for c in ll_train ll_test elbo_train elbo_test ll_test_se ll_train_rows; do
    [ "$(column dy/vae.summary.tsv $c)" = "$(column dyl/vae.summary.tsv $c)" ] \
        || fail "--load (dynamic): $c differs"
done
same_files dy/vae.latent.dat dyl/vae.latent.dat
same_files dy/vae.recon.dat dyl/vae.recon.dat
ok

# ---- threshold binarisation: x / 16 > 1/2, in training and in the files ----
run_ok "$V" train.csv "${B[@]}" --binarize threshold -k 2 --epochs 2 -o th/vae --save th/model.vae
# recon's inputs (source 0) are the first 64 test rows binarised
awk -F'[ ,]' 'NR == FNR { if (FNR <= 64) for (j = 1; j <= 64; j++) t[FNR, j] = ($j / 16 > 0.5); next }
     FNR > 1 && $2 == 0 { for (j = 1; j <= 64; j++) if ($(j + 2) != t[$1, j]) exit 1; n++ }
     END { exit n != 64 }' test.csv th/vae.recon.dat || fail "threshold: recon inputs are not x / 16 > 1/2"
grep -q '^str binarize threshold$' th/model.vae || fail "threshold binarisation not in the model file"
run_ok "$V" --load th/model.vae train.csv "${B[@]}" -o thl/vae
for c in ll_train ll_test elbo_train elbo_test; do
    [ "$(column th/vae.summary.tsv $c)" = "$(column thl/vae.summary.tsv $c)" ] \
        || fail "--load (threshold): $c differs"
done
same_files th/vae.recon.dat thl/vae.recon.dat
ok

# ---- IDX input (20 images of 2 x 2 unsigned bytes, gzipped) ----
{
    printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x02\x00\x00\x00\x02'
    for i in $(seq 1 20); do printf "\\x$(printf %02x $((i * 12)))\\x00\\xff\\x$(printf %02x $((255 - i * 12)))"; done
} | gzip >tiny-images-idx3-ubyte.gz
run_ok "$V" tiny-images-idx3-ubyte.gz -k 1 --hidden 4 --epochs 2 --iw 3 -o idx/vae --save idx/model.vae
check_columns idx/vae.samples.dat x1 x2 x3 x4
[ "$(rows idx/vae.latent.dat)" -eq 20 ] || fail "IDX: latent rows"
# bytes / 255 are the data: the recon inputs of image 1 are 12/255, 0, 1, 243/255
awk 'NR == 2 { if ($1 != 1 || $2 != 0 || ($3 - 12 / 255) ^ 2 > 1e-14 || $4 != 0 || $5 != 1 ||
               ($6 - 243 / 255) ^ 2 > 1e-14) exit 1 }' idx/vae.recon.dat || fail "IDX: recon inputs"
run_ok "$V" --load idx/model.vae tiny-images-idx3-ubyte.gz --iw 3 -o idxl/vae
[ "$(column idx/vae.summary.tsv ll_train)" = "$(column idxl/vae.summary.tsv ll_train)" ] \
    || fail "IDX: --load gives another ll_train"
same_files idx/vae.latent.dat idxl/vae.latent.dat
ok

# ---- bad input: one line, exit 1, nothing left behind ----
expect_error out/vae "digits.csv:1: field 3: value [0-9.]+ is above 1: .*maximum is 16: use --scale 16 .*--binarize" \
    "$V" "$DIGITS" --label-col last -o out/vae
awk -F, -v OFS=, 'NR == 5 { $7 = 20 } { print }' test.csv >test2.csv
expect_error out/vae "test2.csv:5: field 7: value 20 after --scale 16 is above 1" \
    "$V" train.csv --label-col last --scale 16 --test test2.csv -o out/vae
# a test value 1e30, 3e30 standardised units out, beyond what the float
# network holds (its loss overflowed): refused before training, by its file,
# line and field, past a comment and a header
awk 'BEGIN { srand(2); print "a,b,c"; for (i = 0; i < 60; i++) printf "%.4f,%.4f,%.4f\n", rand(), 3 * rand(), rand() - 2 }' >g3.csv
printf '# far\na,b,c\n1,2,-1.5\n1e30,1,-1.5\n' >far3.csv
expect_error out/vae "far3\.csv:4: field 1 \(a\): value 1e\+30 is [0-9.e+]+ standardised units \(--standardize\) from the column's training mean: the single-precision network holds at most 1e\+08" \
    "$V" g3.csv --likelihood gaussian -k 1 --hidden 4 --epochs 1 --iw 2 --test far3.csv -o out/vae
# a loaded model keeps its --scale and likelihood: no advice to change them
expect_error out/vae "test2.csv:5: field 7: value 20 after the model's --scale 16 is above 1: .*maximum is 20: the model a/model.vae divides by its --scale 16 and keeps its Bernoulli likelihood under --load" \
    "$V" --load a/model.vae --label-col last --scale 20 test2.csv -o out/vae
printf '0.5,-0.25\n0.1,0.2\n' >neg.csv
expect_error out/vae "neg.csv:1: field 2: value -0.25 is below 0: .*\\[0, 1\\]" "$V" neg.csv -o out/vae
# a value above 1 before the negative one: the negative one is named (--scale cannot mend it)
printf '0.5,1.5\n0.1,0.2\n-2,0.3\n' >negl.csv
expect_error out/vae "negl.csv:3: field 1: value -2 is below 0: .*range over \\[-2, 1.5\\]" "$V" negl.csv -o out/vae
printf '1,2,3\n4,x,6\n' >bad.csv
expect_error out/vae "bad.csv:2: field 2: expected a number" "$V" bad.csv --likelihood gaussian -o out/vae
printf '1,2,3\n4,5\n' >ragged.csv
expect_error out/vae "ragged.csv:2: " "$V" ragged.csv --likelihood gaussian -o out/vae
printf '1,2,3\n4,5,6\n' >three.csv
expect_error out/vae "three.csv.*expected 64" "$V" train.csv --label-col last --likelihood gaussian \
    --test three.csv -o out/vae
printf '1,2\n1,2\n1,2\n' >const.csv
expect_error out/vae "const.csv: every column is constant" "$V" const.csv --likelihood gaussian -o out/vae
for i in $(seq 50); do echo '0.1,0.7,3.3,1e-3'; done > identical.csv
expect_error out/vae "identical.csv: every column is constant" "$V" identical.csv --likelihood gaussian -o out/vae
printf '1,1.7e308,3\n4,1e308,6\n7,-1.5e308,9\n2,0,1\n' > huge.csv
expect_error out/vae "huge.csv: field 2: values up to 1.7e\+308 are too large" "$V" huge.csv --likelihood gaussian -o out/vae
expect_error out/vae "nofile.csv: cannot open" "$V" nofile.csv -o out/vae
expect_error out/vae "missing argument" "$V" -o out/vae
expect_error out/vae "^nlgm_vae: -k 0: expected" "$V" train.csv -k 0 -o out/vae
expect_error out/vae "option --act: expected one of relu\\|tanh" "$V" train.csv --act sigmoid -o out/vae
expect_error out/vae "--hidden '400,x'" "$V" train.csv --hidden 400,x -o out/vae
expect_error out/vae "--dec-hidden 0: an MLP decoder" "$V" train.csv --dec-hidden 0 -o out/vae
expect_error out/vae "--hidden 0 and an MLP decoder" "$V" train.csv --hidden 0 -o out/vae
expect_error out/vae "--batch 0" "$V" train.csv --batch 0 -o out/vae
expect_error out/vae "--epochs 0" "$V" train.csv --epochs 0 -o out/vae
expect_error out/vae "--lr -1" "$V" train.csv --lr -1 -o out/vae
expect_error out/vae "--samples 0" "$V" train.csv --samples 0 -o out/vae
expect_error out/vae "--iw 0: expected 1 \.\. 100000" "$V" train.csv --iw 0 -o out/vae
expect_error out/vae "--iw 100001: expected 1 \.\. 100000" "$V" train.csv --iw 100001 -o out/vae
expect_error out/vae "--scale 0" "$V" train.csv --scale 0 -o out/vae
expect_error out/vae "--sigma2 -1" "$V" train.csv --likelihood gaussian --sigma2 -1 -o out/vae
expect_error out/vae "--sigma2 applies to --likelihood gaussian" "$V" train.csv --sigma2 1 -o out/vae
expect_error out/vae "--binarize applies to --likelihood bernoulli" "$V" train.csv \
    --likelihood gaussian --binarize threshold -o out/vae
expect_error out/vae "--grid 1" "$V" train.csv --grid 1 -o out/vae
expect_error out/vae "option --epochs: expected an integer" "$V" train.csv --epochs ten -o out/vae
expect_error out/vae "unknown option '--bogus'" "$V" train.csv --bogus -o out/vae
# model files: missing, of another kind, truncated, with a wrong shape
expect_error out/vae "none.vae: cannot open" "$V" --load none.vae -o out/vae
printf '# latent-zoo model\nkind lgm 1\nend\n' >lgm.model
expect_error out/vae "lgm.model:2: a model of kind 'lgm': expected 'vae'" "$V" --load lgm.model -o out/vae
head -n 40 a/model.vae >trunc.vae
expect_error out/vae "trunc.vae" "$V" --load trunc.vae -o out/vae
sed 's/^array out_w 64 64$/array out_w 64 63/' a/model.vae >shape.vae
expect_error out/vae "shape.vae:[0-9]+: array out_w" "$V" --load shape.vae -o out/vae
expect_error out/vae "three.csv:1: 3 feature columns: expected 64 as in the model a/model.vae" "$V" --load a/model.vae three.csv -o out/vae
# an output that cannot be written: nothing is left behind
expect_error /dev/null/vae "/dev/null/vae" "$V" train.csv --label-col last --scale 16 --epochs 1 \
    --hidden 8 -k 2 --iw 2 -o /dev/null/vae
# a test log-likelihood made by one row (tail_data: test line 50 holds 0.5
# where the training column is 0 but once, 866 standard deviations out):
# the note names the line; none without that row.  Then 5, 8660 out, with
# --seed 3: the encoder's log-variance for that row passes 100, and without
# its bound (docs/vae.md, "The bound on log sigma^2") sigma overflowed and
# the run ended in "a non-finite log-weight".
TAIL_FAR=0.5 tail_note 'note: the test log-likelihood is made by a few rows: .* the lowest 1 row holds 100 % .* is at tail_te\.csv:50 ' \
  1 "$V" --likelihood gaussian --epochs 20
TAIL_FAR=5 tail_note 'note: the test log-likelihood is made by a few rows: .* the lowest 1 row holds 100 % .* is at tail_te\.csv:50 ' \
  1 "$V" --likelihood gaussian --epochs 20 --seed 3
run_ok "$V" tail_train.csv --test tail_test.csv --likelihood gaussian --epochs 20 --seed 3 -o tf/run
awk '!/^#/ && $5 !~ /^[0-9.]+(e[-+]?[0-9]+)?$/ { exit 1 }' tf/run.trace.dat \
  || fail "far row: a loss_test in the trace is not a finite number"
ok
done_ok
