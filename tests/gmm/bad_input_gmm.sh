# bad_input_gmm.sh -- gmm_em on bad input: one line on stderr naming the file,
# line and field (or the option), exit status 1, no crash, no output left.
source "$SRC/tests/lib.sh"
GMM="$BIN/gmm_em"
P=out/bad  # every failing run writes to this prefix; nothing may appear

reader_errors $P "$GMM" -K 1
# K < 1, K > n (4 rows)
expect_error $P '^gmm_em: -K 0: expected at least 1' "$GMM" ok.csv -K 0 -o $P
expect_error $P '^gmm_em: -K -2: expected' "$GMM" ok.csv -K -2 -o $P
expect_error $P 'ok\.csv: -K 5: expected 1 <= K <= n = 4 training rows' "$GMM" ok.csv -K 5 -o $P
expect_error $P 'ok\.csv: -K 4: expected 1 <= K <= n = 3 training rows' "$GMM" ok.csv -K 4 --split 0.25 -o $P
expect_error $P 'ok\.csv: --k-range 1:9: its largest: -K 9: expected 1 <= K <= n = 4' "$GMM" ok.csv --k-range 1:9 -o $P
# options
expect_error $P "option -K: expected an integer, got 'two'" "$GMM" ok.csv -K two -o $P
expect_error $P 'option --cov: expected one of full\|diag\|spherical\|tied' "$GMM" ok.csv --cov round -o $P
expect_error $P "--init 'kmeans': expected kmeans\+\+, random or file:PATH" "$GMM" ok.csv --init kmeans -o $P
expect_error $P "--init 'file:': expected" "$GMM" ok.csv --init file: -o $P
expect_error $P '--n-init 0: expected 1 <= R <= 10000' "$GMM" ok.csv --n-init 0 -o $P
# huge counts: refused by name (they ran out of memory, or for minutes)
expect_error $P '--n-init 2147483647: expected 1 <= R <= 10000' "$GMM" ok.csv --n-init 2147483647 -o $P
expect_error $P '^gmm_em: --n-samples 2147483647: expected 0 <= N <= 1000000' "$GMM" ok.csv --n-samples 2147483647 -o $P
expect_error $P '--reg 0: expected a fraction 1e-10 <= V < 1' "$GMM" ok.csv --reg 0 -o $P
expect_error $P '--reg 1: expected a fraction' "$GMM" ok.csv --reg 1 -o $P
expect_error $P '--reg 1e-16: expected a fraction' "$GMM" ok.csv --reg 1e-16 -o $P
expect_error $P '--tol -1: expected' "$GMM" ok.csv --tol -1 -o $P
expect_error $P '--max-iter -1: expected' "$GMM" ok.csv --max-iter -1 -o $P
expect_error $P "--k-range '3:2': expected A:B with 1 <= A <= B" "$GMM" ok.csv --k-range 3:2 -o $P
expect_error $P "--k-range '2': expected A:B" "$GMM" ok.csv --k-range 2 -o $P
expect_error $P "--k-range '1:3x': expected A:B" "$GMM" ok.csv --k-range 1:3x -o $P
expect_error $P '--n-samples -3: expected' "$GMM" ok.csv --n-samples -3 -o $P
expect_error $P "unknown option '--frobnicate'" "$GMM" ok.csv --frobnicate -o $P
expect_error $P 'missing argument DATA' "$GMM" -o $P
# --init file:
expect_error $P '--init: nomeans\.dat: cannot open' "$GMM" ok.csv -K 2 --init file:nomeans.dat -o $P
printf '# component x1 x2 x3\n1 1 2 3\n2 4 5 6\n' > means2.dat
expect_error $P '--init: means2\.dat: 2 means: expected K = 3' "$GMM" ok.csv -K 3 --init file:means2.dat -o $P
expect_error $P '--init: means2\.dat:1: 4 columns: expected 2 .* as the data has d = 2' "$GMM" two_cols.csv -K 2 --init file:means2.dat -o $P
expect_error $P '--n-init 2: a start from a file is one start' "$GMM" ok.csv -K 2 --init file:means2.dat --n-init 2 -o $P
expect_error $P '--k-range with --init file:' "$GMM" ok.csv --k-range 1:2 --init file:means2.dat -o $P
# a missing or huge mean: named (it was read as 0, or blamed on the data)
printf '1 2 3\nNA 5 6\n' > means_na.dat
printf '1 2 3\n1e300 5 6\n' > means_big.dat
expect_error $P '--init: means_na\.dat:2: field 1: missing: the means file needs every value' \
  "$GMM" ok.csv -K 2 --init file:means_na.dat -o $P
expect_error $P '--init: means_big\.dat:2: field 1: value 1e\+300 is too large' \
  "$GMM" ok.csv -K 2 --init file:means_big.dat -o $P
# model files
expect_error $P 'nomodel\.txt: cannot open' "$GMM" --load nomodel.txt -o $P
expect_error $P "ok\.csv:1: not a latent-zoo model file" "$GMM" --load ok.csv -o $P
run_ok "$GMM" ok.csv -K 2 --cov diag -o m/gmm --save m/model.txt
expect_error $P '--k-range with --load' "$GMM" --load m/model.txt --k-range 1:2 -o $P
expect_error $P 'two_cols\.csv:1: 2 feature columns: expected 3 as in model' "$GMM" --load m/model.txt --test two_cols.csv -o $P
sed 's/^kind gmm 1/kind lgm 2/' m/model.txt > wrongkind.txt
expect_error $P "wrongkind\.txt:2: a model of kind 'lgm': expected 'gmm'" "$GMM" --load wrongkind.txt -o $P
awk '/^array weights/ { print; getline; print "-0.5"; getline; print "1.5"; next } { print }' m/model.txt > negw.txt
expect_error $P 'negw\.txt: weights, component 1: -0.5: expected > 0' "$GMM" --load negw.txt -o $P
awk '/^array covariances/ { print; getline; print "0 1 1"; next } { print }' m/model.txt > zerovar.txt
expect_error $P 'zerovar\.txt: covariances, component 1: variance 0: expected > 0' "$GMM" --load zerovar.txt -o $P
sed 's/^int k 2/int k 7/' m/model.txt > wrongk.txt
expect_error $P 'wrongk\.txt: array weights is 2 x 1: expected k x 1 = 7 x 1' "$GMM" --load wrongk.txt -o $P
sed 's/^str cov diag/str cov full/' m/model.txt > wrongcov.txt
expect_error $P 'wrongcov\.txt: array covariances is 2 x 3: expected k d x d = 6 x 3' "$GMM" --load wrongcov.txt -o $P
head -n 8 m/model.txt > cutmodel.txt
expect_error $P 'cutmodel\.txt' "$GMM" --load cutmodel.txt -o $P
unwritable_prefix "$GMM" ok.csv -K 1
done_ok
