#!/usr/bin/env bash
# tests/install/install.sh -- cmake --install into a temporary prefix: every
# program runs from it (--help, --version), every manual page renders without
# a warning, and the installed lab, latent-zoo-lab, runs on a slice of the
# digits from a directory outside the source tree, finding its programs, plots
# and scripts through its prefix.
source "$SRC/tests/lib.sh"
BUILD=$(cd "$BIN/.." && pwd)
P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" >install.log 2>&1 || { cat install.log >&2; fail "cmake --install failed"; }
ok
progs="gmm_em pca_iter lgm_em nlgm_vae rbm_cd"
for p in $progs latent-zoo-lab; do
  [ -x "$P/bin/$p" ] || fail "$P/bin/$p not installed"
done
for p in $progs; do
  "$P/bin/$p" --help >help.txt 2>&1 || fail "installed $p --help failed"
  grep -q "^Usage: $p " help.txt || fail "installed $p --help: no usage line"
  "$P/bin/$p" --version >version.txt 2>&1 || fail "installed $p --version failed"
  grep -q "^$p (latent-zoo) " version.txt || fail "installed $p --version: $(head -1 version.txt)"
  ok
done
for f in plots/latent.gp plots/trace.gp scripts/compare-table.awk data/digits.csv; do
  [ -s "$P/share/latent-zoo/$f" ] || fail "share/latent-zoo/$f not installed"
done
[ -s "$P/share/doc/latent-zoo/README.md" ] && [ -s "$P/share/doc/latent-zoo/docs/lgm.md" ] ||
  fail "the docs are not installed in share/doc/latent-zoo"
ok

# the installed lab, from a directory that is neither the source nor the build tree
mkdir -p elsewhere
cd elsewhere
head -n 300 "$SRC/data/digits.csv" >slice.csv
[ "$("$P/bin/latent-zoo-lab" --plots)" = "$P/share/latent-zoo/plots" ] || fail "latent-zoo-lab --plots"
env -u BIN LABEL_COL=last EPOCHS=5 THREADS=2 "$P/bin/latent-zoo-lab" slice.csv >lab.log 2>&1 ||
  { cat lab.log >&2; fail "the installed latent-zoo-lab failed"; }
grep -q "$P/bin/pca_iter" lab.log || fail "the installed lab did not run the installed programs"
[ "$(rows out/compare.tsv)" -ge 8 ] || fail "installed lab: compare.tsv has $(rows out/compare.tsv) rows"
for png in compare pca.latent lgm-exact.trace rbm.filters; do check_png "out/$png.png" >/dev/null; done
# a plot script found through the prefix
gnuplot -c "$("$P/bin/latent-zoo-lab" --plots)/latent.gp" out/pca >plot.log 2>&1 || fail "latent.gp through --plots"
ok
done_ok
