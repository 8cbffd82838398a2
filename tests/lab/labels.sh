#!/usr/bin/env bash
# Real CSV files as they come: an iris-like file (a quoted header, four
# numeric columns, the class name in words, quoted or not) through every
# program with --label-col last: the latent files keep a numeric label and
# add label_name, in the rows of the input; the latent plot is drawn with the
# names; the errors say what to do when the label column is not declared or
# a data frame's index column is left in; a class seen only in the test file
# gets the next code and the run says so; and the lab runs on such a file.
source "$SRC/tests/lib.sh"
awk 'BEGIN { srand(3); print "\"sepal.length\",\"sepal.width\",\"petal.length\",\"petal.width\",\"variety\""
             split("Setosa Versicolor Virginica", nm, " ")
             for (i = 0; i < 90; i++) { c = i % 3; q = (i % 2) ? "\"" : ""
               printf "%.1f,%.1f,%.1f,%.1f,%s%s%s\n", 5 + c * 0.9 + rand(), 3.4 - c * 0.3 + 0.5 * rand(),
                      1.5 + c * 2 + rand(), 0.2 + c * 0.8 + 0.3 * rand(), q, nm[c + 1], q } }' >iris.csv
# the expected class name of each data row, in order
awk -F, 'NR > 1 { gsub(/"/, "", $5); print $5 }' iris.csv >names.txt

check_latent() { # FILE: label and label_name columns, three classes, the input's rows
  check_columns "$1" label label_name
  [ "$(column "$1" label | sort -u | tr '\n' ' ')" = "0 1 2 " ] || fail "$1: labels $(column "$1" label | sort -u | tr '\n' ' ')"
  diff <(column "$1" label_name) names.txt >/dev/null || fail "$1: label_name is not the input's class, row by row"
  paste <(column "$1" label) <(column "$1" label_name) | sort -u | tr '\t\n' ': ' >pairs.txt
  [ "$(cat pairs.txt)" = "0:Setosa 1:Versicolor 2:Virginica " ] || fail "$1: codes are not in order of first appearance: $(cat pairs.txt)"
  ok
}
run_ok "$BIN/pca_iter" --label-col last -o p/pca iris.csv
check_latent p/pca.latent.dat
run_ok "$BIN/lgm_em" --label-col last -k 1 -o l/lgm iris.csv
check_latent l/lgm.latent.dat
run_ok "$BIN/gmm_em" --label-col last -K 3 -o g/gmm iris.csv
check_latent g/gmm.latent.dat
run_ok "$BIN/nlgm_vae" --label-col last --likelihood gaussian -k 2 --hidden 8 --epochs 2 --iw 5 -o v/vae iris.csv
check_latent v/vae.latent.dat
run_ok "$BIN/rbm_cd" --label-col last --scale 8 --hidden 4 --epochs 2 -o r/rbm iris.csv
check_latent r/rbm.latent.dat
# the latent space drawn, with the names in the legend
gnuplot -c "$SRC/plots/latent.gp" p/pca >plot.log 2>&1 || { cat plot.log >&2; fail "latent.gp on names"; }
check_png p/pca.latent.png >/dev/null
ok

# the errors that say what to do
expect_error out/x "iris\.csv:2: field 5 \(variety\): expected a number, got 'Setosa' \(column 5 \(variety\) holds words: class labels\? --label-col last\)" \
  "$BIN/lgm_em" -o out/x iris.csv
awk -F, 'BEGIN { OFS = "," } NR == 1 { print "", $0; next } { print NR - 2, $0 }' iris.csv >indexed.csv
expect_error out/x "indexed\.csv: field 1 \(''\) counts the rows 0, 1, \.\.\.: an index column\? drop it with --skip-col 1" \
  "$BIN/pca_iter" --label-col last -o out/x indexed.csv
run_ok "$BIN/pca_iter" --label-col last --skip-col 1 -o ix/pca indexed.csv
check_latent ix/pca.latent.dat
awk 'NR == 3 { sub(/,[^,]*$/, ",") } { print }' iris.csv >nolabel.csv
expect_error out/x 'nolabel\.csv:3: field 5 \(variety\): the label is missing' "$BIN/gmm_em" --label-col last -o out/x nolabel.csv

# a class seen only in the test file: the next code, and a note
{ head -n 1 iris.csv; echo '5.0,3.0,1.0,0.5,Nova'; echo '6.0,3.0,4.5,1.5,"Versicolor"'; } >test.csv
run_ok "$BIN/pca_iter" --label-col last --test test.csv -o t/pca iris.csv
grep -q "^note: test.csv has 1 class not in iris.csv: Nova (3)" run.log || { cat run.log; fail "no note of the new class"; }
[ "$(column t/pca.latent_test.dat label | tr '\n' ' ')" = "3 1 " ] || fail "test codes: $(column t/pca.latent_test.dat label | tr '\n' ' ')"
[ "$(column t/pca.latent_test.dat label_name | tr '\n' ' ')" = "Nova Versicolor " ] || fail "test names"
ok

# columns named in DATA's header (--label-col NAME, --skip-col NAME): the
# names are resolved there, so a test file without a header is read by the
# same columns; the skipped column is gone from the model and from the test
{ echo '5.0,3.0,1.0,0.5,Setosa'; echo '6.0,3.0,4.5,1.5,"Versicolor"'; } >test_nohdr.csv
run_ok "$BIN/pca_iter" -k 1 --label-col variety --skip-col sepal.width --test test_nohdr.csv -o n/pca iris.csv
grep -q '^pca_iter: 90 x 3 from iris.csv' run.log || { cat run.log; fail "--skip-col sepal.width: not 3 columns"; }
[ "$(column n/pca.latent_test.dat label_name | tr '\n' ' ')" = "Setosa Versicolor " ] ||
  fail "test labels by DATA's column names: $(column n/pca.latent_test.dat label_name | tr '\n' ' ')"
run_ok "$BIN/pca_iter" -k 1 --label-col last --skip-col 2 -o m/pca iris.csv
same_files n/pca.components.dat m/pca.components.dat
# a test file without the label column: refused, naming the column as given
awk -F, '{ print $1 "," $2 "," $3 "," $4 }' test_nohdr.csv >test_nolab.csv
expect_error e/pca "test_nolab.csv:1: --label-col 'variety', DATA's field 5: the file has 4 columns" \
  "$BIN/pca_iter" -k 1 --label-col variety --test test_nolab.csv -o e/pca iris.csv
ok

# the lab on such a file
OUT=$TMP/lab BIN=$BIN LABEL_COL=last EPOCHS=3 THREADS=2 bash "$SRC/scripts/lab.sh" iris.csv >lab.log 2>&1 ||
  { tail -20 lab.log >&2; fail "the lab on iris.csv failed"; }
check_png lab/pca.latent.png >/dev/null
check_columns lab/vae-mlp.latent.dat label label_name
[ "$(rows lab/compare.tsv)" -ge 8 ] || fail "the lab's table on iris.csv"
ok
done_ok
