#!/bin/bash
# tests/hostile/outputs.sh -- a failed or interrupted run leaves nothing
# behind, in every program: the final commit is all or nothing (a final
# path that is a directory, --save onto an output), no output replaces an
# input (--save or -o onto DATA or --test), a closed pipe on stdout
# and SIGTERM remove the temporary files and the directories -o created, and
# -o must be a prefix.
source "$SRC/tests/lib.sh"
printf '0,1,0,1\n1,1,0,0\n0,0,1,1\n1,0,1,0\n1,1,1,0\n0,1,0,0\n1,0,0,1\n0,0,1,0\n' > bin.csv
run() { # run PROG ARGS...: the program with a fast setting for this data
  local p=$1
  shift
  case $p in
    pca_iter) "$BIN/pca_iter" -k 1 "$@" bin.csv ;;
    lgm_em) "$BIN/lgm_em" -k 1 "$@" bin.csv ;;
    nlgm_vae) "$BIN/nlgm_vae" -k 1 --hidden 3 --epochs 1 --iw 2 "$@" bin.csv ;;
    nlgm_cvae) "$BIN/nlgm_cvae" -k 1 --hidden 3 --epochs 1 --iw 2 --label-col last "$@" bin.csv ;;
    rbm_cd) "$BIN/rbm_cd" --hidden 2 --epochs 1 "$@" bin.csv ;;
  esac
}
# listing DIR: its files, recursively, with their checksums
listing() { (cd "$1" && find . -type f -exec md5sum {} + | sort) ; }

for p in pca_iter lgm_em nlgm_vae nlgm_cvae rbm_cd; do
  # a final path that is a directory: found before anything is renamed
  # (it left every other output in place)
  rm -rf o && mkdir -p o/p.summary.tsv
  expect_error o/p.t "o/p\.summary\.tsv: is a directory: expected a file name" run $p -q -o o/p
  [ "$(ls o)" = "p.summary.tsv" ] || fail "$p: left $(ls o | tr '\n' ' ') beside the directory o/p.summary.tsv"
  ok
  # --save onto one of the outputs: an error naming both, nothing written
  rm -rf o
  expect_error o "--save: o/p\.summary\.tsv: the same file as o/p\.summary\.tsv, another output" \
    run $p -q -o o/p --save o/p.summary.tsv
  expect_error o "--save: o/\./p\.latent\.dat: the same file as o/p\.latent\.dat" \
    run $p -q -o o/p --save o/./p.latent.dat
  # a complete earlier run is not touched by a failing one
  rm -rf o
  run $p -q -o o/p --save o/p.model >/dev/null 2>&1 || fail "$p: the first run failed"
  listing o > before.txt
  mkdir o/p.model.d
  expect_error o/p.x "--save 'o/p\.model\.d/': expected a file name" run $p -q -o o/p --save o/p.model.d/ --seed 7
  expect_error o/p.x "o/p\.model\.d: is a directory" run $p -q -o o/p --save o/p.model.d --seed 7
  rmdir o/p.model.d
  listing o > after.txt
  diff before.txt after.txt >/dev/null || fail "$p: a failed run changed the outputs of the earlier one"
  ok
  # -o must be a prefix: "" or "dir/" wrote hidden files like dir/.A.dat
  mkdir -p d
  expect_error d/x "^$p: -o 'd/': expected a prefix such as d/[a-z]+ \(files PREFIX\.NAME\)" run $p -o d/
  expect_error d/x "^$p: -o '': expected a prefix such as out/[a-z]+" run $p -o ''
  expect_error d/x "^$p: -o 'd/\.': expected a prefix such as d/\./[a-z]+" run $p -o d/.
  [ -z "$(ls -A d)" ] && [ ! -e .trace.dat ] && [ ! -e .summary.tsv ] || fail "$p: hidden files written"
  ok
  # -o under a regular file: named so (it said "cannot write in directory f:
  # Permission denied")
  touch f
  expect_error f/x "f/x\.[a-z_]+\.[a-z]+: f is a file, not a directory" run $p -q -o f/x
  rm f
done

# An output onto an input: --save onto DATA (or a link to it) or --test, and
# -o whose summary file is DATA; refused in one line naming both, the inputs
# intact (the commit replaced them)
fast() {
  case $1 in
    pca_iter | lgm_em) echo "-k 1" ;;
    gmm_em) echo "-K 1" ;;
    nlgm_vae) echo "-k 1 --hidden 3 --epochs 1 --iw 2" ;;
    rbm_cd) echo "--hidden 2 --epochs 1" ;;
  esac
}
for p in pca_iter lgm_em gmm_em nlgm_vae rbm_cd; do
  cp bin.csv in.csv && cp bin.csv te.csv && cp bin.csv q.summary.tsv && ln -sf in.csv link.csv
  # shellcheck disable=SC2046
  {
    expect_error o/q "^$p: --save in\.csv: the same file as the input in\.csv: expected a new file name" \
      "$BIN/$p" $(fast $p) -q -o o/q --save in.csv in.csv
    expect_error o/q "^$p: --save link\.csv: the same file as the input in\.csv" \
      "$BIN/$p" $(fast $p) -q -o o/q --save link.csv in.csv
    expect_error o/q "^$p: --save te\.csv: the same file as the input te\.csv" \
      "$BIN/$p" $(fast $p) -q -o o/q --test te.csv --save te.csv in.csv
    expect_error q.x "^$p: q\.summary\.tsv: the same file as the input q\.summary\.tsv: expected an output path" \
      "$BIN/$p" $(fast $p) -q -o q q.summary.tsv
  }
  [ "$(ls q.*)" = q.summary.tsv ] || fail "$p: -o q beside its input left $(ls q.* | tr '\n' ' ')"
  for f in in.csv te.csv q.summary.tsv; do cmp -s bin.csv $f || fail "$p: the input $f was replaced"; done
  ok
done

# A closed pipe on stdout: the program dies of SIGPIPE (status 141) after
# removing its temporary files and the directories -o created.  pca_iter
# with a tolerance it cannot reach prints a line an iteration until stopped
# (its trace is open from the start).
PCA=("$BIN/pca_iter" -k 2 --tol 1e-300 --max-iter 100000000 --label-col last "$DIGITS")
rm -rf p
set +o pipefail
"${PCA[@]}" -o p/sub/run | head -n 2 > head.log
rc=${PIPESTATUS[0]}
set -o pipefail
[ "$(wc -l < head.log)" -eq 2 ] || fail "head read $(wc -l < head.log) lines"
[ "$rc" -eq 141 ] || fail "pca_iter | head: status $rc, expected 141 (SIGPIPE)"
[ ! -e p ] || fail "pca_iter | head left $(find p | tr '\n' ' ')"
ok

# SIGTERM in the middle of training: the same.
rm -rf t
"${PCA[@]}" -q -o t/sub/run > term.log 2>&1 &
pid=$!
for i in $(seq 1200); do # up to 60 s (slow under the sanitizers)
  compgen -G 't/sub/run.trace.dat.tmp.*' >/dev/null || ! kill -0 $pid 2>/dev/null && break
  sleep 0.05
done
compgen -G 't/sub/run.trace.dat.tmp.*' >/dev/null || { cat term.log >&2; fail "pca_iter did not start its trace"; }
kill -TERM $pid
rc=0
wait $pid || rc=$?
[ "$rc" -eq 143 ] || fail "pca_iter after SIGTERM: status $rc, expected 143"
[ ! -e t ] || fail "pca_iter after SIGTERM left $(find t | tr '\n' ' ')"
ok
done_ok
