#!/usr/bin/env bash
# make lab on a 300-sample slice of the bundled digits: every model runs, every
# plot renders (each PNG valid and not blank), and the comparison table has
# one row per model with finite numbers; the gradient estimators' step writes
# every estimator's variance after each epoch.
source "$SRC/tests/lib.sh"
head -n 300 "$DIGITS" >slice.csv
t0=$(date +%s)
OUT=$TMP/out BIN=$BIN LABEL_COL=last EPOCHS=40 bash "$SRC/scripts/lab.sh" slice.csv >lab.log 2>&1 ||
  { cat lab.log >&2; fail "scripts/lab.sh failed"; }
ok
echo "lab on 300 rows: $(( $(date +%s) - t0 )) s"

# the table: a header and one row per model, every number finite
check_columns out/compare.tsv model family k n_params ll_train ll_test ll_test_se method iterations seconds
[ "$(rows out/compare.tsv)" -eq 10 ] || fail "compare.tsv: $(rows out/compare.tsv) rows, expected 10"
models=$(awk -F'\t' 'NR > 1 { print $1 }' out/compare.tsv | tr '\n' ' ')
[ "$models" = "gmm-diag pca lgm-exact lgm-sampled vae-linear-gaussian vae-mlp-gaussian vae-mlp-bernoulli vae-mlp-bernoulli-iwae5 rbm-cd1 rbm-gauss-cd1 " ] ||
  fail "compare.tsv models: $models"
awk -F'\t' 'NR > 1 { for (i = 3; i <= 10; i++) if (i != 8 && ($i !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/)) { print "row " NR - 1 ", column " i ": " $i; bad = 1 } }
            END { exit bad }' out/compare.tsv || fail "compare.tsv: a number is not finite"
# the Gaussian RBM's bracket (its optional columns 11, 12) lies about its exact ll_test
awk -F'\t' '$1 == "rbm-gauss-cd1" { d1 = $6 - $11; d2 = $12 - $6; exit !(d1 > -0.5 && d1 < 0.5 && d2 > -0.5 && d2 < 0.5) }' out/compare.tsv ||
  fail "compare.tsv: the Gaussian RBM's bracket: $(grep rbm-gauss out/compare.tsv)"
ok
# the families are kept apart: Gaussian models continuous, Bernoulli/RBM binary
[ "$(awk -F'\t' 'NR > 1 && $2 == "binary" { n++ } END { print n }' out/compare.tsv)" -eq 3 ] ||
  fail "compare.tsv: expected 3 binary models"
ok
# the printed table names how each model's likelihood was computed, on its own row
for row in "pca:exact" "lgm-exact:exact" "vae-mlp-gaussian:importance-weighted, K=100" \
           "vae-mlp-bernoulli:importance-weighted, K=100" "vae-mlp-bernoulli-iwae5:importance-weighted, K=100" \
           "rbm-cd1:exact enumeration" "rbm-gauss-cd1:exact enumeration"; do
  model=${row%%:*} how=${row#*:}
  grep -Eq "^$model +(continuous|binary) .*  $how +[0-9.]+\$" lab.log ||
    fail "the printed table's row $model does not say '$how'"
  ok
done

# the VAE with labels: M2's and M1's accuracies beside the pixels' regression
for who in "M2: the classifier" "M1: a logistic regression" "a logistic regression on the same rows' pixels"; do
  grep -Eq "^$who.* +[0-9]+\.[0-9]{2} %\$" lab.log || fail "the accuracy table has no row '$who'"
  ok
done

# the mixtures on PCA's latent space: one select.dat row per K, the files of
# the K with the smallest BIC
[ "$(column out/gmm-pca.select.dat K | tr '\n' ' ')" = "$(seq 20 | tr '\n' ' ')" ] ||
  fail "gmm-pca.select.dat: K column $(column out/gmm-pca.select.dat K | tr '\n' ' ')"
best=$(awk 'NR > 1 && (b == "" || $4 < b) { b = $4; k = $1 } END { print k }' out/gmm-pca.select.dat)
[ "$(column out/gmm-pca.summary.tsv k)" = "$best" ] || fail "gmm-pca: summary K is not the smallest BIC's ($best)"
ok
# scripts/readme-table.sh puts exactly the printed table between README's
# markers and changes nothing else; a second run changes nothing
cp "$SRC/README.md" readme.md
README=readme.md bash "$SRC/scripts/readme-table.sh" out/compare.tsv 2>/dev/null || fail "readme-table.sh failed"
awk '/^model  /, /^rbm-cd1 /' lab.log >printed.txt
[ "$(wc -l <printed.txt)" -eq 11 ] || fail "the lab printed no 11-line table"
awk '/^<!-- lab-table:begin -->$/ { on = 1; next } /^<!-- lab-table:end -->$/ { on = 0 } on' readme.md |
  sed '1d;$d' >written.txt
same_files printed.txt written.txt
strip() { awk '/^<!-- lab-table:begin -->$/ { print; on = 1 } /^<!-- lab-table:end -->$/ { on = 0 } !on' "$1"; }
[ "$(strip readme.md)" = "$(strip "$SRC/README.md")" ] || fail "readme-table.sh changed README outside its markers"
cp readme.md again.md
README=again.md bash "$SRC/scripts/readme-table.sh" out/compare.tsv 2>/dev/null || fail "readme-table.sh, again"
same_files readme.md again.md
grep -v 'lab-table:end' readme.md >nomark.md
cp nomark.md nomark0.md
README=nomark.md bash "$SRC/scripts/readme-table.sh" out/compare.tsv 2>err.txt && fail "no end marker: accepted"
grep -q "expected one line '<!-- lab-table:begin -->' and one line '<!-- lab-table:end -->'" err.txt ||
  fail "no end marker: $(cat err.txt)"
same_files nomark.md nomark0.md
[ -z "$(ls | grep 'nomark.md.tmp' || true)" ] || fail "readme-table.sh left a temporary file"

# the estimators' step: 4 estimators measured at the initial parameters and
# after each of its EPOCHS / 10 = 4 epochs; the score function's run trains too
[ "$(rows out/vae-reparam.gradvar.dat)" -eq 20 ] || fail "vae-reparam.gradvar.dat: $(rows out/vae-reparam.gradvar.dat) rows"
[ "$(column out/vae-score.summary.tsv model)" = vae-mlp-bernoulli-score-net ] || fail "vae-score: model name"
[ "$(rows out/vae-score.trace.dat)" -eq 4 ] || fail "vae-score.trace.dat: $(rows out/vae-score.trace.dat) rows"
ok

# every picture: a valid PNG with more than one colour
pngs="gmm.trace gmm.means gmm-pca.gmm gmm-pca.select
      pca.trace lgm-exact.trace vae-linear.trace vae-bernoulli.trace rbm.trace
      pca.latent lgm-exact.latent vae-linear.latent vae-mlp.latent vae-bernoulli.latent rbm.latent
      pca.components lgm-exact.samples vae-mlp.samples vae-mlp.recon vae-mlp.manifold
      vae-bernoulli.samples vae-bernoulli.recon vae-bernoulli.manifold rbm.filters rbm.samples compare
      rbm-gauss.trace rbm-gauss.samples vae-reparam.gradvar vae-reparam.trace"
pngs="$pngs m2.trace m2.samples cvae.samples cvae.latent"   # the VAE with labels
for p in $pngs; do check_png "out/$p.png" >/dev/null; done
n=$(ls out/*.png | wc -l)
[ "$n" -eq "$(echo $pngs | wc -w)" ] || fail "$n PNG files, expected $(echo $pngs | wc -w)"
ok
# nothing half-written is left
[ -z "$(ls out | grep tmp || true)" ] || fail "temporary files left in out/"
ok
done_ok
