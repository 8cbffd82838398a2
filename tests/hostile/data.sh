#!/bin/bash
# tests/hostile/data.sh -- the four programs on hostile data files: sizes
# that overflow, blank lines by the hundred thousand, a byte-order mark,
# labels where there can be none, and values just outside [0, 1].
source "$SRC/tests/lib.sh"
PROGS="pca_iter lgm_em nlgm_vae rbm_cd"
P=out/bad

# An IDX header (type double, 3 dimensions) whose element count x size is
# 2^31 x 2^30 x 1 x 8 = 2^64 bytes: it wrapped to 0, matched the empty
# payload, and the reader wrote 2^61 values into a 0-byte allocation.
printf '\0\0\x0e\x03\x80\0\0\0\x40\0\0\0\0\0\0\x01' > x.idx
cp x.idx wrap-images-idx3-ubyte
for p in $PROGS; do
  expect_error $P 'x\.idx: IDX header: dimensions 2147483648 x 1073741824 x 1 of 8-byte values overflow' \
    "$BIN/$p" -o $P x.idx
  expect_error $P 'wrap-images-idx3-ubyte: IDX header: .* overflow' "$BIN/$p" -o $P wrap-images-idx3-ubyte
done

# A first row of 300000 fields, 700000 blank lines, a second row (2 MB):
# lines x columns reserved up front was 1.7 TB ("out of memory").  The run
# then fails on the test set's columns, after reading DATA.
awk 'BEGIN { for (j = 0; j < 300000; j++) printf "%s%d", j ? " " : "", j % 2; printf "\n";
             for (i = 0; i < 700000; i++) printf "\n";
             for (j = 0; j < 300000; j++) printf "%s%d", j ? " " : "", (j + 1) % 2; printf "\n" }' > wide.txt
printf '0,1,0\n1,0,1\n' > three.csv
for p in $PROGS; do
  expect_error $P 'three\.csv:1: 3 feature columns: expected 300000' "$BIN/$p" --test three.csv -o $P wide.txt
done

# A UTF-8 byte-order mark before the first number: skipped, not "expected a
# number, got '1...'" with the mark invisible.
printf '\xEF\xBB\xBF1,0,1,0\n' > bom.csv
awk 'BEGIN { srand(3); for (i = 0; i < 40; i++) printf "%d,%d,%d,%d\n", i % 2, (i / 2) % 2, rand() < 0.5, rand() < 0.3 }' >> bom.csv
run_ok "$BIN/pca_iter" -k 1 -o out/bom-pca bom.csv
run_ok "$BIN/lgm_em" -k 1 -o out/bom-lgm bom.csv
run_ok "$BIN/nlgm_vae" -k 1 --hidden 4 --epochs 1 --iw 2 -o out/bom-vae bom.csv
run_ok "$BIN/rbm_cd" --hidden 2 --epochs 1 -o out/bom-rbm bom.csv
for m in pca lgm vae rbm; do
  [ "$(rows out/bom-$m.latent.dat)" -eq 41 ] || fail "bom.csv: $m read $(rows out/bom-$m.latent.dat) rows, expected 41"
  ok
done

# IDX labels come from the sibling labels file: --label-col is an error, and
# a label that is not finite (float NaN at byte 12) is named.
printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x02\x01\x02\x03\x04\x05\x06\x07\x08' > s-images-idx3-ubyte
printf '\0\0\x0d\x01\0\0\0\x02\x40\x40\0\0\x7f\xc0\0\0' > s-labels-idx1-ubyte
for p in $PROGS; do
  expect_error $P 's-images-idx3-ubyte: --label-col last: IDX data has no label column' \
    "$BIN/$p" --label-col last -o $P s-images-idx3-ubyte
  expect_error $P 's-labels-idx1-ubyte: byte 12: label 2 is not a finite number' \
    "$BIN/$p" -o $P s-images-idx3-ubyte
done

# Bernoulli data with a value 1e-10 above 1: the advice prints the maximum
# so that it reads back exactly, and following it works.
awk 'BEGIN { srand(5); for (i = 0; i < 30; i++) printf "%d,%.3f,%d\n", i % 2, rand(), (i == 7) ? 2 : rand() < 0.5 }' \
  | sed 's/^\(.*\),2$/\1,1.0000000001/' > above.csv
grep -q '1.0000000001' above.csv || fail "above.csv: no value 1.0000000001"
expect_error $P 'above\.csv:8: field 3: value 1\.0000000001 is above 1: .*maximum is 1\.0000000001: use --scale 1\.0000000001 ' \
  "$BIN/nlgm_vae" -o $P above.csv
scale=$(sed -n 's/.*use --scale \([^ ]*\) .*/\1/p' stderr.log)
run_ok "$BIN/nlgm_vae" -k 1 --hidden 4 --epochs 1 --iw 2 --scale "$scale" -o out/above-vae above.csv
expect_error $P 'above\.csv:8: field 3: value 1\.0000000001 is above 1: .*--scale 1\.0000000001; real values: --visible gaussian$' \
  "$BIN/rbm_cd" -o $P above.csv
scale=$(sed -n 's/.*--scale \([^ ;]*\); real values.*/\1/p' stderr.log)
run_ok "$BIN/rbm_cd" --hidden 2 --epochs 1 --scale "$scale" -o out/above-rbm above.csv
# A file of the wrong width is named at the line of its first data row, past
# a comment, a blank line and a header (it was always line 1); an IDX file,
# which has no lines, by its name alone.
awk 'BEGIN { srand(7); for (i = 0; i < 40; i++) printf "%d,%d,%d\n", i % 2, rand() < 0.5, rand() < 0.3 }' > bin3.csv
printf '# two columns\n\nx,y\n0,1\n1,0\n' > two_late.csv
printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x02\x01\x02\x03\x04\x05\x06\x07\x08' > w-images-idx3-ubyte
for p in $PROGS gmm_em; do
  expect_error $P 'two_late\.csv:4: 2 feature columns: expected 3 as in bin3\.csv' \
    "$BIN/$p" --test two_late.csv -o $P bin3.csv
  expect_error $P 'w-images-idx3-ubyte: 4 feature columns: expected 3 as in bin3\.csv' \
    "$BIN/$p" --test w-images-idx3-ubyte -o $P bin3.csv
done
# A test file whose header orders the columns otherwise: refused (the
# columns are matched by position: it was scored with two columns swapped);
# the same names in the same order, or no header, are read.
(echo a,b,c; cat bin3.csv) > hdr3.csv
(echo b,a,c; head -5 bin3.csv) > swapped.csv
(echo a,b,c; head -5 bin3.csv) > same.csv
for p in $PROGS gmm_em; do
  expect_error $P "swapped\.csv: field 1 \(b\) where hdr3\.csv has 'a': expected the training file's column names in its order" \
    "$BIN/$p" --test swapped.csv -o $P hdr3.csv
done
run_ok "$BIN/pca_iter" -k 1 --test same.csv -o out/same-pca hdr3.csv
run_ok "$BIN/pca_iter" -k 1 --test bin3.csv -o out/same-pca hdr3.csv
run_ok "$BIN/pca_iter" -k 1 -o out/w-pca --save out/w-pca.model bin3.csv
expect_error $P 'two_late\.csv:4: 2 feature columns: expected 3 as in the model out/w-pca\.model' \
  "$BIN/pca_iter" --load out/w-pca.model -o $P two_late.csv
run_ok "$BIN/gmm_em" -K 2 -o out/w-gmm --save out/w-gmm.model bin3.csv
expect_error $P 'two_late\.csv:4: 2 feature columns: expected 3 as in model out/w-gmm\.model' \
  "$BIN/gmm_em" --load out/w-gmm.model -o $P two_late.csv
# A value past 1e150 in a set that is scored, not fitted (a test file, or
# DATA under --load): refused by file, line and field, as a training column
# is; it made the test ll/N -inf or NaN without a word (lgm_em's summary:
# "ll/N train -nan" under --load).
printf '# far\n0,1,0\n1,-1e308,1\n' > huge_te.csv
for p in $PROGS gmm_em; do
  expect_error $P 'huge_te\.csv:3: field 2: value -1e\+308 is too large: .*expected magnitudes below 1e\+150' \
    "$BIN/$p" --test huge_te.csv -o $P bin3.csv
done
run_ok "$BIN/lgm_em" -k 1 -o out/h-lgm --save out/h-lgm.model bin3.csv
for m in "pca_iter w-pca" "gmm_em w-gmm" "lgm_em h-lgm"; do
  set -- $m
  expect_error $P 'huge_te\.csv:3: field 2: value -1e\+308 is too large' "$BIN/$1" --load out/$2.model -o $P huge_te.csv
done
# 300000 columns: lgm_em's and gmm_em's d x d matrices (2 TB and more) are
# refused before they are allocated, naming d (gmm_em's over-committed
# allocation succeeded, and the fit then ran the machine out of memory)
awk 'BEGIN { srand(5); for (i = 0; i < 3; i++) { for (j = 0; j < 300000; j++) printf "%s%d", (j ? "," : ""), int(10 * rand()); printf "\n" } }' > wide.csv
expect_error $P '^lgm_em: d = 300000 columns: out of memory for the d x d covariance matrices' \
  "$BIN/lgm_em" -k 1 -o $P wide.csv
expect_error $P '^gmm_em: d = 300000 columns, K = 1: out of memory for the covariances' \
  "$BIN/gmm_em" -K 1 -o $P wide.csv
# A NUL byte: named by its line; /dev/zero refused from its first 64 KB (it
# was read until memory ran out)
printf '1,2\n3,4\n5,\0006\n7,8\n' > nul.csv
expect_error $P '^pca_iter: nul\.csv:3: binary content \(a NUL byte\)' "$BIN/pca_iter" -k 1 -o $P nul.csv
expect_error $P '^pca_iter: /dev/zero: binary content \(a NUL byte in the first 64 KB\)' \
  timeout 60 "$BIN/pca_iter" -k 1 -o $P /dev/zero
# One row: no model is fitted to it (nlgm_vae trained 1000 epochs on it)
printf '0,1,1,0\n' > one.csv
for p in $PROGS; do
  expect_error $P "^$p: one\.csv: 1 row of data: expected at least 2" "$BIN/$p" -o $P one.csv
done
expect_error $P "^nlgm_cvae: one\.csv: 1 row of data: expected at least 2" \
  "$BIN/nlgm_cvae" --label-col last -o $P one.csv
# --missing twice: refused (the second replaced the first, which then read
# as data: -999 a value, no imputed file)
printf '1,2,-999\n4,x,6\n7,8,10\n2,1,3\n' > m999.csv
expect_error $P "option --missing 'x' after '-999': expected one token" \
  "$BIN/pca_iter" -k 1 --missing -999 --missing x -o $P m999.csv
done_ok
