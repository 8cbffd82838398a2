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
progs="gmm_em pca_iter lgm_em nlgm_vae nlgm_cvae rbm_cd"
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
# a manual page per program (and the lab's), rendered by groff with every
# warning on: nothing to say; the OPTIONS are --help's, every one
for p in $progs latent-zoo-lab; do
  page=$P/share/man/man1/$p.1
  [ -s "$page" ] || fail "no manual page $page"
  groff -ww -z -man "$page" 2>groff.txt || fail "$p.1: groff failed"
  [ ! -s groff.txt ] || { cat groff.txt >&2; fail "$p.1: groff warns"; }
  MANWIDTH=100 man -l "$page" >man.txt 2>&1 || fail "man -l $p.1 failed"
  for sec in NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO"; do
    grep -q "^$sec" man.txt || fail "$p.1: no $sec section"
  done
  ok
done
for p in $progs; do
  MANWIDTH=200 man -l "$P/share/man/man1/$p.1" >man.txt 2>&1
  "$P/bin/$p" --help | grep -oE -- '--[a-z0-9-]+' | sort -u >help_opts.txt
  while read -r o; do
    grep -qE -- "(^| )$o( |,|$)" man.txt || fail "$p.1 lacks $o"
  done <help_opts.txt
  ok
done
# a bash completion per program: option names, and the values of a choice
comp=$P/share/bash-completion/completions
for p in $progs; do
  [ -s "$comp/$p" ] && bash -n "$comp/$p" || fail "no (or bad) completion for $p"
done
words=$(bash -c "source '$comp/lgm_em'; COMP_WORDS=(lgm_em --compl); COMP_CWORD=1; _lz_lgm_em; echo \"\${COMPREPLY[*]}\"")
[ "$words" = "--completion" ] || fail "completion of --compl: '$words'"
words=$(bash -c "source '$comp/lgm_em'; COMP_WORDS=(lgm_em --completion ''); COMP_CWORD=2; _lz_lgm_em; echo \"\${COMPREPLY[*]}\"")
[ "$words" = "exact sampled" ] || fail "completion of --completion's values: '$words'"
ok
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
