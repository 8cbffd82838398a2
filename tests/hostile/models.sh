#!/bin/bash
# tests/hostile/models.sh -- every model loader on corrupt model files: shapes
# checked against what the file holds before anything is allocated (a
# corrupt model is "FILE:LINE: ...", never "out of memory"), int and real
# entries parsed whole, values finite and in their domains.
source "$SRC/tests/lib.sh"
P=out/bad

# Runs of the loaders are limited to 1 GB of address space (plain builds;
# AddressSanitizer reserves terabytes of shadow memory up front), so a model
# that declares a huge size and allocates before checking fails here as
# "out of memory" on any machine.
if [[ $(ldd "$BIN/pca_iter") == *libasan* ]]; then # (not ldd | grep -q: a race under pipefail)
  lowmem() { "$@"; }
else
  lowmem() { (ulimit -v 1000000 && exec "$@"); }
fi
# edit FILE SED-SCRIPT OUT: a corrupt copy; the edit must change something
edit() { sed "$2" "$1" > "$3"; ! cmp -s "$1" "$3" || fail "edit '$2' of $1 changed nothing"; }
# value_after FILE 'array NAME' OUT VALUE: the first value of that array replaced
value_after() { awk -v a="$2" -v v="$4" 'f { $1 = v; f = 0 } index($0, a " ") == 1 { f = 1 } { print }' "$1" > "$3"; }

printf '0,1,0,1\n1,1,0,0\n0,0,1,1\n1,0,1,0\n1,1,1,0\n0,1,0,0\n1,0,0,1\n0,0,1,0\n' > bin.csv
awk 'BEGIN { srand(2); for (i = 0; i < 30; i++) printf "%.4f,%.4f,%.4f,%.4f\n", rand(), rand() * 3, rand() - 1, 2 * rand() }' > real.csv

# ---- PCA
run_ok "$BIN/pca_iter" -k 1 -o out/pca --save m.pca real.csv
grep -q '^int d 4$' m.pca || fail "m.pca: no 'int d 4'"
edit m.pca 's/^int d 4$/int d 4xyz/' d5xyz.pca
expect_error $P "d5xyz\.pca:3: int d: expected one integer, got '4xyz'" lowmem "$BIN/pca_iter" --load d5xyz.pca -o $P real.csv
edit m.pca 's/^int d 4$/int d 2000000000/' bigd.pca
expect_error $P 'bigd\.pca:[0-9]+: array mean is 1 x 4: expected 1 x 2000000000' lowmem "$BIN/pca_iter" --load bigd.pca -o $P
edit m.pca 's/^end$/array X 1 268435456\nend/' bigx.pca
expect_error $P 'bigx\.pca:[0-9]+: array X: 1 x 268435456 values declared, but only [0-9]+ bytes follow' \
  lowmem "$BIN/pca_iter" --load bigx.pca -o $P real.csv
value_after m.pca 'array mean' nanmean.pca nan
expect_error $P 'nanmean\.pca:[0-9]+: array mean, row 1, column 1: nan: expected a finite number' \
  "$BIN/pca_iter" --load nanmean.pca -o $P real.csv
edit m.pca 's/^real sigma2 .*/real sigma2 -1/' negs2.pca
expect_error $P 'negs2\.pca:[0-9]+: real sigma2 -1: expected a noise variance > 0' "$BIN/pca_iter" --load negs2.pca -o $P
edit m.pca 's/^real total_var .*/real total_var inf/' inftot.pca
expect_error $P 'inftot\.pca:[0-9]+: real total_var inf: expected a finite number' "$BIN/pca_iter" --load inftot.pca -o $P
value_after m.pca 'array comp' comp.pca 0.5
expect_error $P 'comp\.pca:[0-9]+: array comp: rows off orthonormal' "$BIN/pca_iter" --load comp.pca -o $P
run_ok "$BIN/pca_iter" --load m.pca -o out/pca-loaded real.csv

# ---- LGM
run_ok "$BIN/lgm_em" -k 1 -o out/lgm --save m.lgm real.csv
edit m.lgm 's/^int k 1$/int k 1x/' k1x.lgm
expect_error $P "k1x\.lgm:4: int k: expected one integer, got '1x'" "$BIN/lgm_em" --load k1x.lgm -o $P
edit m.lgm 's/^int d 4$/int d 2000000000/' bigd.lgm
expect_error $P 'bigd\.lgm:[0-9]+: array mean is 1 x 4: expected 1 x 2000000000' lowmem "$BIN/lgm_em" --load bigd.lgm -o $P
value_after m.lgm 'array A' infa.lgm -inf
expect_error $P 'infa\.lgm:[0-9]+: array A, row 1, column 1: -inf: expected a finite number' "$BIN/lgm_em" --load infa.lgm -o $P
value_after m.lgm 'array floor' nanfloor.lgm nan
expect_error $P 'nanfloor\.lgm:[0-9]+: array floor, row 1, column 1: nan: expected a finite number' \
  "$BIN/lgm_em" --load nanfloor.lgm -o $P real.csv
value_after m.lgm 'array D' zerod.lgm 0
expect_error $P 'zerod\.lgm:[0-9]+: array D, row 1: 0: expected a positive variance' "$BIN/lgm_em" --load zerod.lgm -o $P
edit m.lgm 's/^str completion exact$/str completion exact sampled/' str2.lgm
expect_error $P 'str2\.lgm:[0-9]+: str completion: expected one word' "$BIN/lgm_em" --load str2.lgm -o $P
run_ok "$BIN/lgm_em" --load m.lgm -o out/lgm-loaded real.csv

# ---- VAE: 200 bytes declaring d = 25,000,000 zeroed 1.57 GB, then failed
# on the missing arrays
printf '# latent-zoo model\nkind vae 1\nstr likelihood bernoulli\nstr decoder linear\nstr act relu\nstr binarize none\nint d 25000000\nint k 2\nint learn_sigma2 0\nint n_enc 1\nint n_dec 0\nint enc_h1 4\nreal scale 1\nend\n' > big.vae
expect_error $P "big\.vae:14: no array 'shift' before 'end'" lowmem "$BIN/nlgm_vae" --load big.vae -o $P
run_ok "$BIN/nlgm_vae" -k 1 --hidden 3 --epochs 1 --iw 2 -o out/vae --save m.vae bin.csv
edit m.vae 's/^int d 4$/int d 25000000/' bigd.vae
expect_error $P 'bigd\.vae:[0-9]+: array shift is 1 x 4: expected 1 x 25000000' lowmem "$BIN/nlgm_vae" --load bigd.vae -o $P
edit m.vae 's/^int k 1$/int k 2x/' k2x.vae
expect_error $P "k2x\.vae:[0-9]+: int k: expected one integer, got '2x'" "$BIN/nlgm_vae" --load k2x.vae -o $P
value_after m.vae 'array out_w' infw.vae inf
expect_error $P 'infw\.vae:[0-9]+: array out_w, row 1, column 1: inf: expected a finite number' "$BIN/nlgm_vae" --load infw.vae -o $P
value_after m.vae 'array scale' scale0.vae 0
expect_error $P 'scale0\.vae:[0-9]+: scale 0 \(column 1\): expected a number > 0' "$BIN/nlgm_vae" --load scale0.vae -o $P
run_ok "$BIN/nlgm_vae" --load m.vae --iw 2 -o out/vae-loaded bin.csv
run_ok "$BIN/nlgm_vae" -k 1 --hidden 3 --epochs 1 --iw 2 --likelihood gaussian -o out/vaeg --save g.vae real.csv
value_after g.vae 'array log_sigma2' bigsig.vae -1e30
expect_error $P 'bigsig\.vae:[0-9]+: array log_sigma2: -1e\+30: expected a log-variance in \[-700, 700\]' \
  "$BIN/nlgm_vae" --load bigsig.vae -o $P real.csv
# a version 1 file (one overall scale, before the per-column scale) reads as
# --standardize overall: the same model scores the same
run_ok "$BIN/nlgm_vae" -k 1 --hidden 3 --epochs 1 --iw 2 --likelihood gaussian --standardize overall \
  -o out/vaeo --save o.vae real.csv
awk '/^kind vae 2$/ { print "kind vae 1"; next } /^str standardize / { next }
     /^array scale 1 4$/ { getline; print "real scale " $1; next } { print }' o.vae > v1.vae
grep -q '^real scale ' v1.vae || fail "v1.vae: no 'real scale'"
run_ok "$BIN/nlgm_vae" --load o.vae --iw 2 -o out/vae-o real.csv
run_ok "$BIN/nlgm_vae" --load v1.vae --iw 2 -o out/vae-v1 real.csv
[ "$(column out/vae-o.summary.tsv ll_train)" = "$(column out/vae-v1.summary.tsv ll_train)" ] ||
  fail "a version 1 model file scores differently"

# ---- RBM
run_ok "$BIN/rbm_cd" --hidden 2 --epochs 1 -o out/rbm --save m.rbm bin.csv
edit m.rbm 's/^int h 2$/int h 100000/; s/^int d 4$/int d 100000000/' big.rbm
expect_error $P 'big\.rbm:[0-9]+: array W is 2 x 4: expected 100000 x 100000000' lowmem "$BIN/rbm_cd" --load big.rbm -o $P bin.csv
edit m.rbm 's/^int cd_k 1$/int cd_k 1.5/' cdk.rbm
expect_error $P "cdk\.rbm:[0-9]+: int cd_k: expected one integer, got '1\.5'" "$BIN/rbm_cd" --load cdk.rbm -o $P bin.csv
value_after m.rbm 'array W' bigw.rbm 1e39
expect_error $P 'bigw\.rbm:[0-9]+: array W, row 1, column 1: 1e\+39: expected a finite number within the range of a float' \
  "$BIN/rbm_cd" --load bigw.rbm -o $P bin.csv
value_after m.rbm 'array base' nanbase.rbm nan
expect_error $P 'nanbase\.rbm:[0-9]+: array base, row 1, column 1: nan' "$BIN/rbm_cd" --load nanbase.rbm -o $P bin.csv
run_ok "$BIN/rbm_cd" --load m.rbm -o out/rbm-loaded bin.csv
done_ok
