#!/bin/bash
# tests/fuzz/seed-corpus.sh BIN -- (re)write the seed corpora of the fuzz
# harnesses into tests/fuzz/corpus/: small data files of every kind the reader
# takes (a flags byte first, see fuzz_data.c) and one or more valid model
# files of each kind, written by the programs in BIN.  The files are
# committed; run this again only to change the seeds.
set -euo pipefail
BIN=${1:?usage: seed-corpus.sh BIN (e.g. build/bin)}
BIN=$(cd "$BIN" && pwd)
C=$(cd "$(dirname "$0")" && pwd)/corpus
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$C"
mkdir -p "$C"/{data,model_pca,model_lgm,model_vae,model_rbm}

# seed FILE FLAGS: the flags byte (decimal), then stdin
seed() { { printf "\\$(printf '%03o' "$2")"; cat; } > "$C/data/$1"; }
# idx TYPE DIMS... : an IDX header (big-endian dims), the payload from stdin
idx() {
  local t=$1
  shift
  printf "\\000\\000\\$(printf '%03o' "$t")\\$(printf '%03o' $#)"
  for v in "$@"; do printf "\\$(printf '%03o' $((v >> 24 & 255)))\\$(printf '%03o' $((v >> 16 & 255)))\\$(printf '%03o' $((v >> 8 & 255)))\\$(printf '%03o' $((v & 255)))"; done
  cat
}
# with_labels IMAGES LABELS: the two-byte length, the images, the labels
with_labels() { local n; n=$(wc -c < "$1"); printf "\\$(printf '%03o' $((n & 255)))\\$(printf '%03o' $((n >> 8)))"; cat "$1" "$2"; }

printf '1,2,3\n4,5,6.5\n-7e-3,8,9\n' | seed csv 0
printf 'a,b,class\n1,2,0\n3.5,-4e1,1\n5,6,2\n' | seed csv-header-label-last 4
printf 'x1\tx2\tx3\n0.25\t1\t2\n3\t4\t5\n' | seed tsv-label-1 8
printf '# comment\n\n  1 2  3\r\n4\t5 6\r\n\n# z1 z2 z3\n' | seed whitespace-crlf 0
printf '# z1 z2 label\n1 2 0\n3 4 1\n' | seed own-dat-header 68
printf '"1","2"\n"3","4"\n' | seed quoted 0
printf '\xEF\xBB\xBF1.288,2\n3,4\n' | seed utf8-bom 0
printf '1,2\n3,4\n5,6\n7,8\n' | seed csv-split-min2 $((0x80 | 0x40))
printf 'a,b,y\n1,2,0\n3,4,1\n5,6,0\n' | seed csv-names-label-y-skip-b $((0x80))
printf '1,2,3\n4,5,6\n' | seed csv-gzip $((0x10))
printf '1,1e308\n-1e308,0x1p-3\n' | seed csv-extremes 0
printf '\001\002\003\004\005\006\007\010\011\012\013\014' | idx 8 3 2 2 > "$tmp/img"
printf '\007\000\011' | idx 8 3 > "$tmp/lab"
with_labels "$tmp/img" "$tmp/lab" | seed idx-ubyte-labels $((0x20 | 1))
cat "$tmp/img" | seed idx-ubyte-gzip $((0x10 | 3))
printf '\077\200\000\000\300\000\000\000\000\000\000\000\100\100\000\000' | idx 13 2 2 | seed idx-float 2
printf '\077\360\000\000\000\000\000\000\300\010\000\000\000\000\000\000' | idx 14 1 2 | seed idx-double 2
printf '\377\001\200\177' | idx 9 2 2 | seed idx-sbyte 1
printf '\377\376\000\001\200\000\177\377' | idx 11 2 2 | seed idx-short 1
printf '\000\000\000\001\377\377\377\377' | idx 12 2 1 | seed idx-int 1
printf '\100\100\000\000\077\200\000\000' | idx 13 2 > "$tmp/flab"
printf '\001\002\003\004' | idx 8 2 2 > "$tmp/img2"
with_labels "$tmp/img2" "$tmp/flab" | seed idx-float-labels $((0x20 | 1))

# model files from the programs, on small data
printf '0,1,0,1\n1,1,0,0\n0,0,1,1\n1,0,1,0\n1,1,1,0\n0,1,0,0\n1,0,0,1\n0,0,1,0\n' > "$tmp/bin.csv"
awk 'BEGIN { srand(2); for (i = 0; i < 30; i++) printf "%.4f,%.4f,%.4f,%.4f\n", rand(), rand() * 3, rand() - 1, 2 * rand() }' > "$tmp/real.csv"
cd "$tmp"
"$BIN/pca_iter" -q -k 1 -o o/p --save "$C/model_pca/pca-k1" real.csv >/dev/null
"$BIN/pca_iter" -q -k 2 -o o/p --save "$C/model_pca/pca-k2" real.csv >/dev/null
"$BIN/lgm_em" -q -k 1 -o o/l --save "$C/model_lgm/lgm-v2-exact" real.csv >/dev/null
"$BIN/lgm_em" -q -k 2 --completion sampled --max-iter 5 -o o/l --save "$C/model_lgm/lgm-v2-sampled" real.csv >/dev/null
# version 1: one floor for every coordinate
awk '/^kind lgm 2$/ { print "kind lgm 1"; next } /^array floor / { skip = $3; print "real floor 1e-06"; next }
     skip > 0 { skip--; next } { print }' "$C/model_lgm/lgm-v2-exact" > "$C/model_lgm/lgm-v1"
"$BIN/nlgm_vae" -q -k 1 --hidden 3 --epochs 1 --iw 2 -o o/v --save "$C/model_vae/vae-bernoulli-mlp" bin.csv >/dev/null
"$BIN/nlgm_vae" -q -k 1 --hidden 2 --decoder linear --likelihood gaussian --epochs 1 --iw 2 -o o/v \
  --save "$C/model_vae/vae-gaussian-linear" real.csv >/dev/null
"$BIN/nlgm_vae" -q -k 2 --hidden 3,2 --dec-hidden 2 --binarize dynamic --epochs 1 --iw 2 -o o/v \
  --save "$C/model_vae/vae-bernoulli-deep" bin.csv >/dev/null
"$BIN/rbm_cd" -q --hidden 2 --epochs 1 -o o/r --save "$C/model_rbm/rbm-cd1" bin.csv >/dev/null
"$BIN/rbm_cd" -q --hidden 3 --pcd --cd 2 --binarize none --epochs 1 -o o/r --save "$C/model_rbm/rbm-pcd2" bin.csv >/dev/null
for h in "$C"/*; do echo "$(basename "$h"): $(ls "$h" | wc -l) seeds, $(cat "$h"/* | wc -c) bytes"; done
