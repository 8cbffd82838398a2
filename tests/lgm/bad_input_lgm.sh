# bad_input_lgm.sh -- lgm_em on bad input: one line on stderr naming the file,
# line and field (or the option), exit status 1, no crash, no output left.
source "$SRC/tests/lib.sh"
LGM="$BIN/lgm_em"
P=out/bad  # every failing run writes to this prefix; nothing may appear

printf '1,2,3\n4,5,6\n7,8,10\n2,1,0\n' > ok.csv
printf '1,2\n3,4\n5,6\n' > two_cols.csv
: > empty.csv
printf '# a b c\n' > header_only.csv
printf '1,2,3\n4,5\n7,8,9\n' > ragged.csv
printf '1,2,3\n4,x,6\n7,8,9\n' > text.csv
printf '1,2,3\n4,5,6\n7,-inf,9\n' > inf.csv
printf '1,2,3\n' > one_row.csv
printf '1,2,3\n1,2,3\n1,2,3\n' > all_constant.csv
# 50 identical rows of values whose mean is not exact in binary: rounding is no variance
for i in $(seq 50); do echo '0.1,0.7,3.3,1e-3'; done > identical.csv
# values too large for a variance
printf '1,1.7e308,3\n4,1e308,6\n7,-1.5e308,9\n2,0,1\n' > huge.csv
# IDX: a header promising 3 images of 2x2 followed by 5 bytes; a wrong magic
printf '\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05' > trunc-images-idx3-ubyte
printf '\x00\x00\x07\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04' > magic-images-idx3-ubyte
gzip -c trunc-images-idx3-ubyte | head -c 20 > cut.gz

expect_error $P 'missing\.csv: cannot open' "$LGM" missing.csv -o $P
expect_error $P 'empty\.csv: empty file' "$LGM" empty.csv -o $P
expect_error $P 'header_only\.csv: .*expected' "$LGM" header_only.csv -o $P
expect_error $P 'ragged\.csv:2: 2 fields: expected 3' "$LGM" ragged.csv -o $P
expect_error $P "text\.csv:2: field 2: expected a number, got 'x'" "$LGM" text.csv -o $P
# missing values are completed (tests/lgm/missing_e2e.sh), but not a row with
# none observed, a missing label, or a column with none observed
printf '1,2,3\nNA,,?\n7,8,9\n' > allmiss.csv
printf '1,2,3,a\n4,5,6,NA\n7,8,9,b\n' > nolabel.csv
printf '1,NA,3\n4,NA,6\n7,,9\n2,?,1\n' > nocol.csv
expect_error $P 'allmiss\.csv:2: every value of the row is missing' "$LGM" allmiss.csv -o $P
expect_error $P 'nolabel\.csv:2: field 4: the label is missing' "$LGM" nolabel.csv --label-col last -o $P
expect_error $P 'nocol\.csv: field 2: every value is missing: expected at least one observed' "$LGM" nocol.csv -k 1 -o $P
expect_error $P 'inf\.csv:3: field 2: .*finite' "$LGM" inf.csv -o $P
expect_error $P 'one_row\.csv: 1 row of data: expected at least 2' "$LGM" one_row.csv -o $P
expect_error $P 'two_cols\.csv:1: 2 feature columns: expected 3' "$LGM" ok.csv --test two_cols.csv -o $P
expect_error $P 'trunc-images-idx3-ubyte: truncated IDX' "$LGM" trunc-images-idx3-ubyte -o $P
expect_error $P 'magic-images-idx3-ubyte: byte 0: bad IDX magic' "$LGM" magic-images-idx3-ubyte -o $P
expect_error $P 'cut\.gz: truncated or corrupt gzip' "$LGM" cut.gz -o $P
expect_error $P 'all_constant\.csv: every column is constant' "$LGM" all_constant.csv -k 1 -o $P
expect_error $P 'identical\.csv: every column is constant' "$LGM" identical.csv -k 1 -o $P
expect_error $P 'huge\.csv: field 2: values up to 1.7e\+308 are too large' "$LGM" huge.csv -k 1 -o $P
# k < 1 and k >= d (d = 3)
expect_error $P '^lgm_em: -k 0: expected' "$LGM" ok.csv -k 0 -o $P
expect_error $P '^lgm_em: -k -2: expected' "$LGM" ok.csv -k -2 -o $P
expect_error $P 'ok\.csv: -k 3: expected 1 <= k < d = 3' "$LGM" ok.csv -k 3 -o $P
# options
expect_error $P "option -k: expected an integer, got 'two'" "$LGM" ok.csv -k two -o $P
expect_error $P 'option --completion: expected one of exact\|sampled' "$LGM" ok.csv --completion mean -o $P
expect_error $P '--samples 0: expected' "$LGM" ok.csv --completion sampled --samples 0 -o $P
printf '1,2,3\n4,5,7\n' > two_rows.csv
expect_error $P '--samples 1: sampled completion needs n J >= 2 k' "$LGM" two_rows.csv -k 2 --completion sampled --samples 1 -o $P
expect_error $P '--dmin 0: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 0 -o $P
expect_error $P '--dmin 1: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 1 -o $P
expect_error $P '--dmin 1e-16: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 1e-16 -o $P
expect_error $P '--tol -1: expected' "$LGM" ok.csv --tol -1 -o $P
expect_error $P '--max-iter -1: expected' "$LGM" ok.csv --max-iter -1 -o $P
expect_error $P '--n-samples -3: expected' "$LGM" ok.csv --n-samples -3 -o $P
expect_error $P "unknown option '--frobnicate'" "$LGM" ok.csv --frobnicate -o $P
expect_error $P 'missing argument DATA' "$LGM" -o $P
# model files
expect_error $P 'nomodel\.txt: cannot open' "$LGM" --load nomodel.txt -o $P
expect_error $P "ok\.csv:1: not a latent-zoo model file" "$LGM" --load ok.csv -o $P
run_ok "$LGM" ok.csv -k 1 -o m/lgm --save m/model.txt
expect_error $P 'two_cols\.csv:1: 2 feature columns: expected 3 as in the model' "$LGM" --load m/model.txt --test two_cols.csv -o $P
sed 's/^kind lgm 2/kind rbm 1/' m/model.txt > wrongkind.txt
expect_error $P "wrongkind\.txt:2: a model of kind 'rbm': expected 'lgm'" "$LGM" --load wrongkind.txt -o $P
awk '/^array floor/ { print; getline; print "nan"; next } { print }' m/model.txt > nanfloor.txt
expect_error $P 'nanfloor\.txt:[0-9]+: array floor, row 1, column 1: nan: expected a finite number' "$LGM" --load nanfloor.txt -o $P
awk '/^array D/ { print; getline; print "-1"; next } { print }' m/model.txt > negd.txt
expect_error $P 'negd\.txt:[0-9]+: array D, row 1: .*expected a positive variance' "$LGM" --load negd.txt -o $P
head -n 8 m/model.txt > cutmodel.txt
expect_error $P 'cutmodel\.txt' "$LGM" --load cutmodel.txt -o $P
# an unwritable output prefix: the error names it, nothing is left
mkdir -p ro && chmod 555 ro
if [ ! -w ro ]; then
  expect_error ro/x 'ro/x\..*: cannot create' "$LGM" ok.csv -k 1 -o ro/x
fi
chmod 755 ro
done_ok
