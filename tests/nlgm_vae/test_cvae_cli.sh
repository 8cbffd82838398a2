# test_cvae_cli.sh -- nlgm_cvae end to end: the conditional VAE on the bundled
# digits (every file and column, the class x style grid of the samples file,
# --save/--load, the same files for the same seed), M2 on two well-separated
# classes with 10 labels (>= 95 % test accuracy), M1 and M2 on the digits
# (their baseline is the same regression on the same labelled rows), and bad
# input (one line on stderr, exit 1, no file left behind).
source "$SRC/tests/lib.sh"
V="$BIN/nlgm_cvae"

head -n 1437 "$DIGITS" >train.csv
tail -n +1438 "$DIGITS" >test.csv
B=(--label-col last --test test.csv --scale 16 --hidden 32 --batch 64 --iw 10 --threads 2 --seed 3)

# ---- the conditional VAE: every file and its columns ----
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 60 --n-samples 6 -o a/cvae --save a/model.cvae
check_columns a/cvae.trace.dat epoch loss_train recon_train kl_train loss_test recon_test kl_test \
    loss_labelled ce_train objective acc_test sigma2 seconds train_seconds samples_per_sec
[ "$(rows a/cvae.trace.dat)" -eq 60 ] || fail "trace: $(rows a/cvae.trace.dat) rows, expected 60"
check_columns a/cvae.latent.dat z1 z2 label
[ "$(rows a/cvae.latent.dat)" -eq 360 ] || fail "latent: expected the 360 test rows"
check_columns a/cvae.summary.tsv model family k n_params ll_train ll_test ll_test_se method \
    iterations seconds ll_of elbo_train elbo_test iw_k ll_train_rows sigma2 classes n_labels alpha \
    acc_test acc_unlabelled acc_raw_test acc_raw_unlabelled
[ "$(column a/cvae.summary.tsv model)" = cvae-mlp-bernoulli ] || fail "model name"
[ "$(column a/cvae.summary.tsv ll_of)" = "p(x|y)" ] || fail "ll_of"
[ "$(column a/cvae.summary.tsv classes)" = 10 ] || fail "classes"
# parameters: the VAE's 64*32+32 + 32*4+4 + 2*32+32 + 32*64+64, and the class
# rows of the first encoder (10 x 32) and decoder (10 x 32) layers
[ "$(column a/cvae.summary.tsv n_params)" -eq $((2080 + 132 + 96 + 2112 + 640)) ] ||
    fail "n_params $(column a/cvae.summary.tsv n_params)"
# the samples file: the class x style grid, 6 rows of each of the 10 classes
# in class order, probabilities
check_columns a/cvae.samples.dat x1 x64 label
[ "$(rows a/cvae.samples.dat)" -eq 60 ] || fail "samples: $(rows a/cvae.samples.dat) rows, expected 60"
[ "$(column a/cvae.samples.dat label | tr '\n' ' ')" = "$(for c in $(seq 0 9); do for j in 1 2 3 4 5 6; do printf '%s ' $c; done; done)" ] ||
    fail "samples: labels $(column a/cvae.samples.dat label | tr '\n' ' ')"
awk 'NR > 1 { for (i = 1; i <= 64; i++) if ($i < 0 || $i > 1) exit 1 }' a/cvae.samples.dat ||
    fail "samples outside [0, 1]"
# the same z in every class: column j of two classes differ (the class
# matters), a class's images differ (z matters)
awk 'NR > 1 { r = NR - 2; c = int(r / 6); j = r % 6; s[c, j] = $1 " " $20 " " $37 }
     END { if (s[0, 0] == s[1, 0] || s[0, 0] == s[0, 1]) exit 1 }' a/cvae.samples.dat ||
    fail "samples: the class or the z changes nothing"
# the bound and the estimate: ll_test above elbo_test, training lowered the test loss
ll=$(column a/cvae.summary.tsv ll_test)
el=$(column a/cvae.summary.tsv elbo_test)
awk -v l="$ll" -v e="$el" 'BEGIN { exit !(l > e) }' || fail "ll_test $ll below elbo_test $el"
first=$(column a/cvae.trace.dat loss_test | head -n 1)
last=$(column a/cvae.trace.dat loss_test | tail -n 1)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "test loss $first -> $last"
ok
# the conditional bound beats the model of independent pixels given the
# class, p(x | y) = prod_j Bernoulli(x_j; the class's mean of x_j)
base=$(awk -F, 'NR == FNR { c = $NF; for (j = 1; j < NF; j++) s[c, j] += $j / 16; n[c]++; next }
          { c = $NF; for (j = 1; j < NF; j++) { p = s[c, j] / n[c]; if (p < 1e-6) p = 1e-6; if (p > 1 - 1e-6) p = 1 - 1e-6
              x = $j / 16; t += -(x * log(p) + (1 - x) * log(1 - p)) } m++ }
          END { printf "%.6f", t / m }' train.csv test.csv)
awk -v a="$base" -v b="$last" 'BEGIN { exit !(b < a) }' ||
    fail "test -ELBO $last not below the class-conditional independent pixels' $base"
ok
# the grid draws as one row a class
gnuplot -c "$SRC/plots/images.gp" a/cvae samples 2>plot.log || { cat plot.log >&2; fail "images.gp"; }
check_png a/cvae.samples.png >/dev/null

# --load: the same estimate and samples with the same seed; no trace
run_ok "$V" --load a/model.cvae train.csv "${B[@]}" --n-samples 6 -o b/cvae
for c in ll_test elbo_test ll_test_se ll_train n_params; do
    [ "$(column a/cvae.summary.tsv $c)" = "$(column b/cvae.summary.tsv $c)" ] ||
        fail "--load: $c differs: $(column a/cvae.summary.tsv $c) vs $(column b/cvae.summary.tsv $c)"
done
same_files a/cvae.latent.dat b/cvae.latent.dat
same_files a/cvae.samples.dat b/cvae.samples.dat
[ ! -e b/cvae.trace.dat ] || fail "--load wrote a trace"
# same seed and threads: identical files; another seed: another model
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 60 --n-samples 6 -o a2/cvae --save a2/model.cvae
for f in trace.dat latent.dat samples.dat summary.tsv; do same_results a/cvae.$f a2/cvae.$f; done
same_files a/model.cvae a2/model.cvae
run_ok "$V" train.csv "${B[@]}" -k 2 --epochs 2 --seed 4 -o s4/cvae
! cmp -s a/cvae.samples.dat s4/cvae.samples.dat || fail "--seed 4 gave the same samples"
ok

# ---- M2 on two well-separated classes with 10 labels: >= 95 % ----
# 16 binary pixels, class 0 mostly on in the first half, class 1 in the second
awk 'BEGIN { srand(17); for (i = 0; i < 600; i++) { c = i % 2; r = ""
       for (j = 0; j < 16; j++) { p = ((j < 8) == (c == 0)) ? 0.85 : 0.15; r = r (rand() < p ? 1 : 0) "," }
       print r c } }' >two.csv
head -n 400 two.csv >two_train.csv
tail -n 200 two.csv >two_test.csv
run_ok "$V" --semi-supervised --n-labels 10 two_train.csv --test two_test.csv --label-col last \
    --hidden 16 -k 2 --epochs 30 --batch 32 --iw 5 --threads 2 -o m2/two
acc=$(column m2/two.summary.tsv acc_test)
awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || fail "M2 with 10 labels: test accuracy $acc < 0.95"
[ "$(column m2/two.summary.tsv n_labels)" = 10 ] || fail "n_labels"
[ "$(column m2/two.summary.tsv model)" = m2-mlp-bernoulli ] || fail "M2's model name"
[ "$(column m2/two.summary.tsv ll_of)" = "p(x)" ] || fail "M2's ll_of"
# alpha's default: 0.1 x 400 training rows
[ "$(column m2/two.summary.tsv alpha)" = 40 ] || fail "alpha $(column m2/two.summary.tsv alpha)"
# acc_test every epoch, a fraction
[ "$(column m2/two.trace.dat acc_test | awk '$1 >= 0 && $1 <= 1' | wc -l)" -eq 30 ] ||
    fail "trace: acc_test not in every epoch"
grep -q "test accuracy: M2's q(y|x)" run.log || fail "the report has no accuracy"
echo "M2, two classes, 10 labels: test accuracy $acc"
ok
# M1 with more latent dimensions than pixels: the regression's features are k wide
run_ok "$V" --m1 --n-labels 10 two_train.csv --test two_test.csv --label-col last --hidden 8 \
    -k 20 --epochs 2 --iw 2 -o m1/two
awk -v a="$(column m1/two.summary.tsv acc_test)" 'BEGIN { exit !(a >= 0 && a <= 1) }' ||
    fail "M1 with k > d: acc_test"

# ---- M1 and M2 on the digits, 50 labels: the same baseline ----
C=(--label-col last --test test.csv --scale 16 --hidden 32 -k 4 --iw 5 --threads 2 --n-labels 50)
run_ok "$V" --m1 train.csv "${C[@]}" --epochs 5 -o m1/d --save m1/model.cvae
run_ok "$V" --semi-supervised train.csv "${C[@]}" --epochs 3 -o m2/d
for c in acc_test acc_unlabelled acc_raw_test acc_raw_unlabelled; do
    v=$(column m1/d.summary.tsv $c)
    awk -v a="$v" 'BEGIN { exit !(a > 0.1 && a <= 1) }' || fail "M1: $c $v"
done
# the regression on the pixels sees the same 50 rows in both (the seed's)
for c in acc_raw_test acc_raw_unlabelled; do
    [ "$(column m1/d.summary.tsv $c)" = "$(column m2/d.summary.tsv $c)" ] || fail "M1 and M2: $c differ"
done
[ "$(column m1/d.summary.tsv model)" = m1-mlp-bernoulli ] || fail "M1's model name"
check_columns m1/d.samples.dat x1 x64
! head -n 1 m1/d.samples.dat | grep -q label || fail "M1's samples have a label column"
# --load of M1: the same test accuracies
run_ok "$V" --load m1/model.cvae "${C[@]}" -o m1l/d
for c in acc_test acc_raw_test ll_test; do
    [ "$(column m1/d.summary.tsv $c)" = "$(column m1l/d.summary.tsv $c)" ] || fail "M1 --load: $c differs"
done
ok

# ---- bad input: one line, exit 1, nothing left behind ----
cut -d, -f1-64 train.csv >nolabels.csv
expect_error out/c "nolabels.csv: no labels: nlgm_cvae needs the class of each training row.*--label-col" \
    "$V" nolabels.csv --scale 16 -o out/c
expect_error out/c "nolabels.csv: no labels.*M1 and M2 hide all but --n-labels" \
    "$V" --semi-supervised nolabels.csv --scale 16 -o out/c
expect_error out/c "train.csv: --n-labels 5000: expected at most the 1437 training rows" \
    "$V" --semi-supervised train.csv --label-col last --scale 16 --n-labels 5000 -o out/c
expect_error out/c "--n-labels 5: expected at least one label per class \(10 classes\)" \
    "$V" --m1 train.csv --label-col last --scale 16 --n-labels 5 -o out/c
expect_error out/c "--semi-supervised and --m1: one model at a time" \
    "$V" --semi-supervised --m1 train.csv --label-col last -o out/c
expect_error out/c "--m1 --condition label: M1's VAE does not see the label" \
    "$V" --m1 --condition label train.csv --label-col last -o out/c
expect_error out/c "--condition none: the CVAE and M2 condition on the label" \
    "$V" --condition none train.csv --label-col last -o out/c
expect_error out/c "option --condition: expected one of label\|none" \
    "$V" --condition class train.csv --label-col last -o out/c
expect_error out/c "--n-labels: the conditional VAE uses every label" \
    "$V" --n-labels 50 train.csv --label-col last -o out/c
expect_error out/c "--alpha applies to --semi-supervised" "$V" --alpha 5 train.csv --label-col last -o out/c
expect_error out/c "--alpha 0: expected a weight > 0" "$V" --semi-supervised --alpha 0 train.csv -o out/c
expect_error out/c "--cls-hidden applies to --semi-supervised" "$V" --cls-hidden 8 train.csv -o out/c
expect_error out/c "--cls-hidden '8,x'" "$V" --semi-supervised --cls-hidden 8,x train.csv -o out/c
expect_error out/c "--l2 0: expected a penalty > 0" "$V" --m1 --l2 0 train.csv -o out/c
expect_error out/c "^nlgm_cvae: -k 0: expected" "$V" -k 0 train.csv -o out/c
expect_error out/c "--iw 0: expected 1 \.\. 100000" "$V" --iw 0 train.csv -o out/c
awk -F, -v OFS=, '{ $65 = 1 } { print }' train.csv >oneclass.csv
expect_error out/c "oneclass.csv: the labels hold one class: expected at least 2" \
    "$V" oneclass.csv --label-col last --scale 16 -o out/c
awk -F, -v OFS=, 'NR == 7 { $65 = 11 } { print }' test.csv >test11.csv
expect_error out/c "test11.csv:7: label 11: not one of the 10 classes of the training data" \
    "$V" train.csv --label-col last --scale 16 --test test11.csv -o out/c
expect_error out/c "digits.csv:1: field 3: value [0-9.]+ is above 1: .*--scale 16" \
    "$V" "$DIGITS" --label-col last -o out/c
# model files: of another kind, truncated, a wrong shape, another width
run_ok "$BIN/nlgm_vae" train.csv --label-col last --scale 16 --hidden 4 -k 1 --epochs 1 --iw 2 \
    -o v/vae --save v/model.vae
expect_error out/c "model.vae:2: a model of kind 'vae': expected 'cvae'" "$V" --load v/model.vae -o out/c
head -n 30 a/model.cvae >trunc.cvae
expect_error out/c "trunc.cvae" "$V" --load trunc.cvae -o out/c
sed 's/^array dec_y 10 32$/array dec_y 10 31/' a/model.cvae >shape.cvae
expect_error out/c "shape.cvae:[0-9]+: array dec_y" "$V" --load shape.cvae -o out/c
printf '1,2,3,0\n4,5,6,1\n' >three.csv
expect_error out/c "three.csv:1: 3 feature columns: expected 64 as in the model a/model.cvae" \
    "$V" --load a/model.cvae three.csv --label-col last -o out/c
# a test value 1e30, 3e30 standardised units out, beyond what the float
# network holds (its loss overflowed): refused before training, by its file,
# line and field, past a comment and a header
awk 'BEGIN { srand(2); print "a,b,c,lab"; for (i = 0; i < 60; i++) printf "%.4f,%.4f,%.4f,%s\n", rand(), 3 * rand(), rand() - 2, i % 2 ? "u" : "v" }' >g3.csv
printf '# far\na,b,c,lab\n1,2,-1.5,u\n1e30,1,-1.5,v\n' >far3.csv
for m in "" "--m1 --n-labels 10" "--semi-supervised --n-labels 10"; do
  # shellcheck disable=SC2086
  expect_error out/c "far3\.csv:4: field 1 \(a\): value 1e\+30 is [0-9.e+]+ standardised units \(--standardize\) from the column's training mean: the single-precision network holds at most 1e\+08" \
      "$V" g3.csv --label-col last --likelihood gaussian -k 1 --hidden 4 --epochs 1 --iw 2 $m --test far3.csv -o out/c
done
awk -F, -v OFS=, 'NR == 5 { $7 = 20 } { print }' test.csv >test2.csv
expect_error out/c "test2.csv:5: field 7: value 20 after the model's --scale 16 is above 1: .*: the model a/model.cvae divides by its --scale 16 and keeps its Bernoulli likelihood under --load" \
    "$V" --load a/model.cvae test2.csv --label-col last --scale 20 -o out/c
expect_error /dev/null/c "/dev/null/c" "$V" train.csv --label-col last --scale 16 --epochs 1 \
    --hidden 8 -k 2 --iw 2 -o /dev/null/c
done_ok
