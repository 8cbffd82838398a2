#!/bin/bash
# tests/pca/bad_input.sh -- pca_iter on bad input: each case gives one line on
# stderr naming the file, line and field (or the option), exits non-zero
# without crashing, and leaves no output file behind (expect_error).
source "$SRC/tests/lib.sh"
P="$BIN/pca_iter"
bytes() { local s="" v; for v in "$@"; do s+=$(printf '\\%03o' "$v"); done; printf "$s"; }

printf '1,2,3\n4,5,6.5\n7,8,9.5\n2,2,1\n' > good.csv
: > empty.csv
printf '1,2,3\n4,5,6\n7,8\n' > ragged.csv
printf '1,2,3\n4,abc,6\n7,8,9\n' > text.csv
printf '1,2,3\nNA,,?\n7,8,9\n' > allmiss.csv
printf '1,2,3,a\n4,5,6,NA\n7,8,9,b\n' > nolabel.csv
printf '1,NA,3\n4,NA,6\n7,,9\n2,?,1\n' > nocol.csv
printf '1,2,3\n4,nan,6\n7,8,9.5\n2,1,0\n' > nan.csv
printf '1,2,3\n4,5,6\ninf,8,9\n' > inf.csv
printf '1,2,3\n' > one.csv
printf '1,2\n3,4\n' > two_cols.csv
printf '1,2,3\n2,4,6\n3,6,9\n4,8,12\n' > line.csv
printf '0.1,0.3,0.7\n0.1,0.3,0.7\n0.1,0.3,0.7\n' > const.csv
# 3 images of 2 x 2 promised, 5 of the 12 pixels present
bytes 0 0 8 3 0 0 0 3 0 0 0 2 0 0 0 2 1 2 3 4 5 > trunc-images-idx3-ubyte
# type byte 7 is no IDX type
bytes 0 0 7 3 0 0 0 1 0 0 0 2 0 0 0 2 1 2 3 4 > badmagic-images-idx3-ubyte
printf '1,1.7e308,3\n4,1e308,6\n7,-1.5e308,9\n2,0,1\n' > huge.csv
for i in $(seq 50); do echo '0.1,0.7,3.3,1e-3'; done > identical.csv
B=out/bad
expect_error $B 'huge.csv: field 2: values up to 1.7e\+308 are too large' "$P" -k 1 -o $B huge.csv
printf '1,1e200,3\n4,-1.7e308,6\n7,2,9\n2,0,1\n' > huge_neg.csv
expect_error $B 'huge_neg\.csv: field 2: values down to -1.7e\+308 are too large' "$P" -k 1 -o $B huge_neg.csv
# values 1e-200 apart: not constant, and their variance would underflow
printf '1,1e-200,3\n4,3e-200,6\n7,0,9\n2,2e-200,1\n' > tiny.csv
expect_error $B 'tiny.csv: field 2: values no larger than 3e-200 are too small' "$P" -k 1 -o $B tiny.csv
expect_error $B 'identical.csv: the data has no variance' "$P" -k 1 -o $B identical.csv

# data files
expect_error $B 'nofile.csv: cannot open' "$P" -o $B nofile.csv
expect_error $B 'empty.csv: empty file' "$P" -o $B empty.csv
expect_error $B 'ragged.csv:3: 2 fields: expected 3' "$P" -o $B ragged.csv
expect_error $B "text.csv:2: field 2: expected a number, got 'abc'" "$P" -o $B text.csv
# missing values are completed (tests/pca/missing_e2e.sh), but not a row with
# none observed, a missing label, a column with none observed, or --mode cov
expect_error $B 'allmiss.csv:2: every value of the row is missing' "$P" -k 1 -o $B allmiss.csv
expect_error $B 'nolabel.csv:2: field 4: the label is missing' "$P" -k 1 --label-col last -o $B nolabel.csv
expect_error $B 'nocol.csv: field 2: every value is missing: expected at least one observed' "$P" -k 1 -o $B nocol.csv
expect_error $B 'pca_iter: --mode cov: the covariance of data with missing values is not formed' "$P" -k 1 --mode cov -o $B nan.csv
expect_error $B 'inf.csv:3: field 1.*not finite' "$P" -o $B inf.csv
expect_error $B 'one.csv: 1 row of data: expected at least 2' "$P" -k 1 -o $B one.csv
expect_error $B 'two_cols.csv:1: 2 feature columns: expected 3' "$P" -k 1 --test two_cols.csv -o $B good.csv
expect_error $B 'trunc-images-idx3-ubyte: truncated IDX file' "$P" -k 1 -o $B trunc-images-idx3-ubyte
expect_error $B 'badmagic-images-idx3-ubyte: byte 0: bad IDX magic' "$P" -k 1 -o $B badmagic-images-idx3-ubyte
# the data cannot carry the model
expect_error $B '^pca_iter: line.csv: -k 1: the centred data spans only 1 dimension' "$P" -k 1 -o $B line.csv
# a column 1e140 times the others: the same, and the message says why
printf '0.84,3.9e139,0.78\n0.79,9.1e139,0.19\n0.33,7.6e139,0.27\n0.5,1e139,0.9\n' > far.csv
expect_error $B '^pca_iter: far.csv: -k 1: the centred data spans only 1 dimension: .*columns in units far smaller than another.s vanish beside it: standardise them' \
  "$P" -k 1 -o $B far.csv
expect_error $B 'const.csv: the data has no variance' "$P" -k 1 -o $B const.csv
# options
expect_error $B '^pca_iter: -k 0: expected k >= 1' "$P" -k 0 -o $B good.csv
expect_error $B '^pca_iter: good.csv: -k 3: expected 1 <= k < d = 3' "$P" -k 3 -o $B good.csv
expect_error $B '^pca_iter: good.csv: -k 7: expected 1 <= k < d = 3' "$P" -k 7 -o $B good.csv
# one column: no subspace smaller than the data's; two columns: -k defaults to 1
printf '1\n2\n4\n' > one_col.csv
expect_error $B '^pca_iter: one_col.csv: 1 column: PCA needs at least 2' "$P" -o $B one_col.csv
printf '1,2\n2,3.5\n4,4\n0,1\n' > two_col.csv
run_ok "$P" -o out/two_col two_col.csv
[ "$(column out/two_col.summary.tsv k)" = 1 ] || fail "2 columns: default -k is not 1"
ok
expect_error $B '^pca_iter: two_col.csv: -k 2: expected 1 <= k < d = 2' "$P" -k 2 -o $B two_col.csv
expect_error $B "option --mode: expected one of data\|cov\|auto, got 'fast'" "$P" --mode fast -o $B good.csv
expect_error $B '^pca_iter: --tol -1: expected a positive angle' "$P" --tol -1 -o $B good.csv
expect_error $B '^pca_iter: --max-iter 0: expected >= 1' "$P" --max-iter 0 -o $B good.csv
expect_error $B '^pca_iter: --oversample -2: expected >= 0' "$P" --oversample -2 -o $B good.csv
expect_error $B "option -k: expected an integer, got 'two'" "$P" -k two -o $B good.csv
expect_error $B 'missing argument DATA' "$P" -o $B
expect_error $B '^pca_iter: --ref two_cols.csv:1: 2 columns: expected 3' "$P" -k 1 --ref two_cols.csv -o $B good.csv
# reference rows that do not span k dimensions: no subspace to measure an angle to
printf '0,0,0\n0,0,0\n' > zero_ref.csv
printf '1,2,3\n-2,-4,-6\n' > rank1_ref.csv
expect_error $B '^pca_iter: --ref zero_ref.csv: rows 1..1 span 0 dimensions: expected 1 linearly independent rows' \
  "$P" -k 1 --ref zero_ref.csv -o $B good.csv
expect_error $B '^pca_iter: --ref rank1_ref.csv: rows 1..2 span 1 dimension: expected 2 linearly independent rows' \
  "$P" -k 2 --ref rank1_ref.csv -o $B good.csv
run_ok "$P" -k 1 --ref rank1_ref.csv -o out/ref1 good.csv
# a missing or huge reference value: named (it was read as 0, or an
# eigensolver's "bad argument 5")
printf '1,NA,3\n' > na_ref.csv
printf '1e308,1e308,0\n' > big_ref.csv
expect_error $B '^pca_iter: --ref: na_ref\.csv:1: field 2: missing: --ref needs every value' \
  "$P" -k 1 --ref na_ref.csv -o $B good.csv
expect_error $B '^pca_iter: --ref: big_ref\.csv:1: field 1: value 1e\+308 is too large' \
  "$P" -k 1 --ref big_ref.csv -o $B good.csv
# models
expect_error $B 'nomodel.txt' "$P" --load nomodel.txt --test good.csv -o $B
run_ok "$P" -k 1 -o out/ok --save out/ok.model good.csv
expect_error $B 'two_cols.csv:1: 2 feature columns: expected 3 as in the model out/ok.model' \
  "$P" --load out/ok.model --test two_cols.csv -o $B
printf '# latent-zoo model\nkind lgm 1\nend\n' > wrong.model
expect_error $B 'wrong.model' "$P" --load wrong.model --test good.csv -o $B
done_ok
