# bad_input_lgm.sh -- lgm_em on bad input: one line on stderr naming the file,
# line and field (or the option), exit status 1, no crash, no output left.
source "$SRC/tests/lib.sh"
LGM="$BIN/lgm_em"
P=out/bad  # every failing run writes to this prefix; nothing may appear

reader_errors $P "$LGM" -k 1
printf '1,2,3\n' > one_row.csv
expect_error $P 'one_row\.csv: 1 row of data: expected at least 2' "$LGM" one_row.csv -o $P
# k < 1 and k >= d (d = 3)
expect_error $P '^lgm_em: -k 0: expected' "$LGM" ok.csv -k 0 -o $P
expect_error $P '^lgm_em: -k -2: expected' "$LGM" ok.csv -k -2 -o $P
expect_error $P 'ok\.csv: -k 3: expected 1 <= k < d = 3' "$LGM" ok.csv -k 3 -o $P
# one column: no latent space smaller than the data's; two columns: -k defaults to 1
printf '1\n2\n4\n' > one_col.csv
expect_error $P '^lgm_em: one_col\.csv: 1 column: factor analysis needs at least 2' "$LGM" one_col.csv -o $P
printf '1,2\n2,3.5\n4,4\n0,1\n' > two_col.csv
run_ok "$LGM" -o out/two_col two_col.csv
[ "$(column out/two_col.summary.tsv k)" = 1 ] || fail "2 columns: default -k is not 1"
ok
# options
expect_error $P "option -k: expected an integer, got 'two'" "$LGM" ok.csv -k two -o $P
expect_error $P 'option --completion: expected one of exact\|sampled' "$LGM" ok.csv --completion mean -o $P
expect_error $P '--samples 0: expected' "$LGM" ok.csv --completion sampled --samples 0 -o $P
printf '1,2,3\n4,5,7\n' > two_rows.csv
expect_error $P '--samples 1: sampled completion needs n J >= 2 k' "$LGM" two_rows.csv -k 2 --completion sampled --samples 1 -o $P
expect_error $P '--dmin 0: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 0 -o $P
expect_error $P '--dmin 1: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 1 -o $P
expect_error $P '--dmin 1e-16: expected a fraction 1e-10 <= V < 1' "$LGM" ok.csv --dmin 1e-16 -o $P
# a value just past a bound is echoed as given, not rounded onto the bound
expect_error $P '--dmin 1.0000001: expected a fraction' "$LGM" ok.csv --dmin 1.0000001 -o $P
expect_error $P '^lgm_em: --split 1.0000001: expected a fraction in \[0, 1)' "$LGM" ok.csv --split 1.0000001 -o $P
expect_error $P '--tol -1: expected' "$LGM" ok.csv --tol -1 -o $P
expect_error $P '--max-iter -1: expected' "$LGM" ok.csv --max-iter -1 -o $P
expect_error $P '--n-samples -3: expected' "$LGM" ok.csv --n-samples -3 -o $P
# huge counts: refused by name (they ran out of memory, or for minutes)
expect_error $P '^lgm_em: --n-samples 2147483647: expected 0 <= N <= 1000000' "$LGM" ok.csv --n-samples 2147483647 -o $P
expect_error $P '^lgm_em: --samples 2147483647: expected 1 <= J <= 10000' \
  "$LGM" ok.csv --completion sampled --samples 2147483647 -o $P
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
unwritable_prefix "$LGM" ok.csv -k 1
done_ok
