#!/usr/bin/env bash
# Every option a program's source declares appears in its --help with its
# default, and --version answers: the help is generated from the same option
# table the parser uses, and this test reads that table from the source.
source "$SRC/tests/lib.sh"

common=$(sed -n '/#define LZ_COMMON_OPTIONS/,/^$/p' "$SRC/common/lz_cli.h" |
         grep -o '{"[a-z0-9-]*"' | tr -d '{"')
[ -n "$common" ] || fail "no shared options found in common/lz_cli.h"

# DIR:PROG[:FILES]: the program's option table is in models/DIR/FILES (*.c)
for spec in gmm:gmm_em pca:pca_iter lgm:lgm_em nlgm_vae:nlgm_vae:main.c \
            nlgm_vae:nlgm_cvae:cvae_main.c rbm:rbm_cd; do
  IFS=: read -r dir prog files <<<"$spec"
  [ -x "$BIN/$prog" ] || fail "$BIN/$prog is missing"
  "$BIN/$prog" --help >help.txt 2>&1 || fail "$prog --help failed"
  grep -q "^Usage: $prog" help.txt || fail "$prog --help has no usage line"
  # option names in the tables of the program's sources: {"name", 'x', LZ_OPT_...
  opts=$(cd "$SRC/models/$dir" && cat ${files:-*.c} | grep -oE '\{"[a-z0-9-]+", *([0-9]+|'"'"'.'"'"'), *LZ_OPT_[A-Z]+' |
         sed -E 's/^\{"([a-z0-9-]+)".*LZ_OPT_([A-Z]+)$/\1 \2/')
  [ -n "$opts" ] || fail "no option table found in models/$dir"
  while read -r name type; do
    # the option's entry: its spec line and the indented lines that continue it
    entry=$(awk -v opt="--$name" '
      /^  (-[a-zA-Z0-9], |    )--/ { on = 0; split($0, w, " "); for (i in w) if (w[i] == opt) on = 1 }
      /^$/ { on = 0 }
      on' help.txt)
    [ -n "$entry" ] || fail "$prog: option --$name is in the source but not in --help"
    if [ "$type" != FLAG ]; then
      echo "$entry" | tr '\n' ' ' | grep -q '(default: ' || fail "$prog: --$name shows no default"
    fi
    ok
  done <<<"$opts"
  for name in $common; do
    grep -qE -- "--$name( |$)" help.txt || fail "$prog: shared option --$name missing from --help"
    ok
  done
  v=$("$BIN/$prog" --version) || fail "$prog --version failed"
  [[ "$v" == *"latent-zoo"* ]] || fail "$prog --version says '$v'"
  ok
done
done_ok
