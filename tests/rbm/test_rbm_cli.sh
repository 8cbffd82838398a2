# test_rbm_cli.sh -- rbm_cd end to end: files and their columns, the same
# seed giving the same files, --save/--load, AIS against exact enumeration
# on the same model, and bad input (one line on stderr, exit 1, no files).
source "$SRC/tests/lib.sh"
RBM="$BIN/rbm_cd"
# a small, fast configuration on the bundled digits (grey levels 0..16)
FAST=(--label-col last --scale 16 --split 0.2 --hidden 8 --epochs 3 --batch 20 --monitor 200
      --n-samples 12 --sample-steps 50 --threads 2)

# ---- files and columns
run_ok "$RBM" "${FAST[@]}" -o a/rbm "$DIGITS"
check_columns a/rbm.trace.dat epoch recon_err pseudo_ll ll_train ll_test fe_gap seconds
[ "$(rows a/rbm.trace.dat)" -eq 4 ] || fail "trace: expected epochs 0..3"
all_finite a/rbm.trace.dat # H = 8: exact log-likelihood every epoch, test set given
check_columns a/rbm.filters.dat $(seq -f 'x%g' 1 64)
[ "$(rows a/rbm.filters.dat)" -eq 8 ] || fail "filters: expected one row a hidden unit"
check_columns a/rbm.samples.dat $(seq -f 'x%g' 1 64)
[ "$(rows a/rbm.samples.dat)" -eq 12 ] || fail "samples: expected --n-samples 12 rows"
check_columns a/rbm.latent.dat h1 h8 label
[ "$(rows a/rbm.latent.dat)" -eq 359 ] || fail "latent: expected the 359 test rows of --split 0.2"
all_finite a/rbm.latent.dat
check_columns a/rbm.summary.tsv model family k n_params ll_train ll_test ll_test_se method iterations seconds
awk -F'\t' 'NR == 2 && !($1 == "rbm-cd1" && $2 == "binary" && $3 == 8 && $4 == 64 * 8 + 64 + 8 &&
            $7 == 0 && $8 == "exact-enum" && $9 == 3 && $5 < 0 && $6 < 0) { exit 1 }' a/rbm.summary.tsv ||
  fail "summary: $(tail -1 a/rbm.summary.tsv)"
ok
# probabilities lie in [0, 1]
awk 'NR > 1 { for (i = 1; i <= NF - 1; i++) if ($i < 0 || $i > 1) exit 1 }' a/rbm.latent.dat || fail "latent outside [0,1]"
awk 'NR > 1 { for (i = 1; i <= NF; i++) if ($i < 0 || $i > 1) exit 1 }' a/rbm.samples.dat || fail "samples outside [0,1]"
ok
# the trace's last exact test log-likelihood is the summary's
[ "$(column a/rbm.trace.dat ll_test | tail -1)" = "$(awk -F'\t' 'NR == 2 { print $6 }' a/rbm.summary.tsv)" ] ||
  fail "trace and summary disagree on ll_test"
ok

# ---- the same seed and threads: the same files
run_ok "$RBM" "${FAST[@]}" -o b/rbm "$DIGITS"
for f in trace.dat filters.dat samples.dat latent.dat summary.tsv; do same_results a/rbm.$f b/rbm.$f; done
run_ok "$RBM" "${FAST[@]}" --seed 2 -o c/rbm "$DIGITS"
! cmp -s a/rbm.filters.dat c/rbm.filters.dat || fail "--seed 2 gave the same filters"
ok

# ---- PCD, its name, --binarize sample
run_ok "$RBM" "${FAST[@]}" --pcd --cd 2 --binarize sample --momentum 0 -o p/rbm "$DIGITS"
[ "$(awk -F'\t' 'NR == 2 { print $1 }' p/rbm.summary.tsv)" = rbm-pcd2 ] || fail "PCD-2 model name"
ok

# ---- --save, then --load scores the same test rows the same way
run_ok "$RBM" "${FAST[@]}" --save a/rbm.model -o s/rbm "$DIGITS"
run_ok "$RBM" --load a/rbm.model --label-col last --split 0.2 --n-samples 5 --sample-steps 10 -o l/rbm "$DIGITS"
for col in 5 6 8; do
  [ "$(awk -F'\t' -v c=$col 'NR == 2 { print $c }' s/rbm.summary.tsv)" = \
    "$(awk -F'\t' -v c=$col 'NR == 2 { print $c }' l/rbm.summary.tsv)" ] || fail "--load: column $col differs"
done
same_files s/rbm.latent.dat l/rbm.latent.dat
same_files s/rbm.filters.dat l/rbm.filters.dat
[ ! -e l/rbm.trace.dat ] || fail "--load wrote a trace"
ok

# ---- a model file written by an earlier rbm_cd (the fuzzing seed corpus: kind rbm,
# version 1, PCD-2, binarize none) loads, keeps its name, and --save writes it back
# byte for byte
OLD="$SRC/tests/fuzz/corpus/model_rbm/rbm-pcd2"
printf '0,1,0,1\n1,1,0,0\n0,0,1,1\n1,0,1,0\n' >bin4.csv
run_ok "$RBM" --load "$OLD" --n-samples 2 --sample-steps 3 --save old.model -o old/rbm bin4.csv
[ "$(awk -F'\t' 'NR == 2 { print $1, $3, $8 }' old/rbm.summary.tsv)" = "rbm-pcd2 3 exact-enum" ] ||
  fail "the earlier model: $(tail -1 old/rbm.summary.tsv)"
same_files "$OLD" old.model

# ---- AIS (forced by --exact-max-h 0) on the very same trained model
run_ok "$RBM" "${FAST[@]}" --exact-max-h 0 --ais-runs 100 --ais-steps 3000 -o ais/rbm "$DIGITS"
same_files a/rbm.filters.dat ais/rbm.filters.dat
awk -F'\t' 'NR == 2 { m = $8; se = $7; x = $6 } END { exit !(m == "ais" && se > 0 && se < 0.2) }' ais/rbm.summary.tsv ||
  fail "AIS summary: $(tail -1 ais/rbm.summary.tsv)"
# AIS against exact: 4 standard errors (AIS's log Z is also biased low by
# about se^2 / 2, negligible here)
paste <(tail -1 a/rbm.summary.tsv) <(tail -1 ais/rbm.summary.tsv) |
  awk -F'\t' '{ n = NF / 2; d = $6 - $(n + 6); if (d < 0) d = -d; exit !(d <= 4 * $(n + 7)) }' ||
  fail "AIS ll_test too far from exact: $(tail -1 a/rbm.summary.tsv) / $(tail -1 ais/rbm.summary.tsv)"
ok

# ---- bad input: one line on stderr, exit 1, nothing written
printf '0,1,0\n1,1,1\n0,0,1\n' >bin3.csv
printf '0,1\n1,1\n' >bin2.csv
printf '0,1,0\n1,1\n' >ragged.csv
printf '0,1,0\n1,x,1\n' >nonnum.csv
printf '0,1,0\n1,nan,1\n' >nan.csv
printf '0,1,0\n' >onerow.csv
printf '0,-0.5,0\n1,1,1\n' >neg.csv
printf '0,0.5,0\n1,1,1\n' >grey.csv
: >empty.csv
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c\x01\x02' >trunc-images-idx3-ubyte
echo "garbage" >bad.model
E=err/rbm
expect_error $E 'missing\.csv: cannot open' "$RBM" -o $E missing.csv
expect_error $E 'empty\.csv' "$RBM" -o $E empty.csv
expect_error $E 'ragged\.csv:2' "$RBM" -o $E ragged.csv
expect_error $E "nonnum\.csv:2: field 2" "$RBM" -o $E nonnum.csv
expect_error $E 'nan\.csv:2: field 2: missing: rbm_cd needs every value' "$RBM" -o $E nan.csv
expect_error $E 'onerow\.csv.*at least 2' "$RBM" -o $E onerow.csv
expect_error $E 'trunc-images-idx3-ubyte.*(truncated|promises)' "$RBM" -o $E trunc-images-idx3-ubyte
expect_error $E 'digits\.csv:1: field 3: value 5 is above 1.*--scale 16' "$RBM" --label-col last -o $E "$DIGITS"
expect_error $E 'neg\.csv:1: field 2: value -0\.5 is negative' "$RBM" -o $E neg.csv
printf '0,2,0\n1,1,1\n0,-3,1\n' >negl.csv # above 1 first, then negative: the negative one is named
expect_error $E 'negl\.csv:3: field 2: value -3 is negative' "$RBM" -o $E negl.csv
expect_error $E 'grey\.csv:1: field 2: value 0\.5 is not 0 or 1 \(--binarize none\)' "$RBM" --binarize none -o $E grey.csv
expect_error $E 'bin2\.csv.*2 feature columns: expected 3' "$RBM" --test bin2.csv -o $E bin3.csv
expect_error $E 'neg\.csv:1: field 2.*negative' "$RBM" --test neg.csv -o $E bin3.csv
expect_error $E -- '--hidden 0' "$RBM" --hidden 0 -o $E bin3.csv
expect_error $E -- '--cd 0' "$RBM" --cd 0 -o $E bin3.csv
expect_error $E -- '--lr 0' "$RBM" --lr 0 -o $E bin3.csv
expect_error $E -- '--momentum 1' "$RBM" --momentum 1 -o $E bin3.csv
expect_error $E -- '--weight-decay -1' "$RBM" --weight-decay -1 -o $E bin3.csv
expect_error $E -- '--batch 0' "$RBM" --batch 0 -o $E bin3.csv
expect_error $E -- '--epochs -1' "$RBM" --epochs -1 -o $E bin3.csv
expect_error $E -- '--ais-runs 1' "$RBM" --ais-runs 1 -o $E bin3.csv
expect_error $E -- '--ais-steps 5' "$RBM" --ais-steps 5 -o $E bin3.csv
expect_error $E -- '--exact-max-h 31' "$RBM" --exact-max-h 31 -o $E bin3.csv
expect_error $E -- '--scale 0' "$RBM" --scale 0 -o $E bin3.csv
expect_error $E -- '--threshold 1' "$RBM" --threshold 1 -o $E bin3.csv
expect_error $E -- '--threads -1' "$RBM" --threads -1 -o $E bin3.csv
expect_error $E -- '--sample-steps 0' "$RBM" --sample-steps 0 -o $E bin3.csv
expect_error $E -- "--binarize.*expected one of threshold\|sample\|none" "$RBM" --binarize foo -o $E bin3.csv
expect_error $E -- "--hidden.*expected an integer" "$RBM" --hidden x -o $E bin3.csv
expect_error $E 'missing argument DATA' "$RBM" -o $E
expect_error $E 'nomodel: cannot open' "$RBM" --load nomodel -o $E bin3.csv
expect_error $E 'bad\.model:1' "$RBM" --load bad.model -o $E bin3.csv
expect_error $E 'bin2\.csv:1: 2 feature columns: expected 64 as in the model a/rbm\.model' "$RBM" --load a/rbm.model -o $E bin2.csv
# a loaded model keeps its --scale and binary units: no advice to change them
head -n 50 "$DIGITS" | awk -F, -v OFS=, 'NR == 5 { $7 = 20 } { print }' >over.csv
expect_error $E 'over\.csv:5: field 7: value 20 / --scale is above 1: .*; the model a/rbm\.model keeps its --scale 16, --binarize threshold and binary visible units under --load' \
  "$RBM" --load a/rbm.model --label-col last --scale 20 -o $E over.csv
expect_error $E 'bin2\.csv:1: 2 feature columns: expected 64 as in the model a/rbm\.model' \
  "$RBM" --load a/rbm.model --test bin2.csv -o $E
# a model file cut short
head -n 20 a/rbm.model >short.model
expect_error $E 'short\.model' "$RBM" --load short.model -o $E bin3.csv
# an output directory that cannot be created
expect_error bin3.csv/x 'bin3\.csv' "$RBM" --epochs 1 -o bin3.csv/x/rbm bin3.csv

# ---- --help shows the defaults
"$RBM" --help >help.txt || fail "--help failed"
grep -q -- '--hidden H.*(default: 16)' help.txt || fail "--help does not show --hidden's default"
v=$("$RBM" --version) || fail "--version failed"
[[ "$v" == "rbm_cd (latent-zoo) "* ]] || fail "--version says '$v'"
ok
done_ok
