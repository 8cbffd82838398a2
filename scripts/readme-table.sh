#!/usr/bin/env bash
# scripts/readme-table.sh -- write the lab's comparison table into README.md
# from a real run, so the figures the README shows are ones `make lab` gives.
#
#   scripts/readme-table.sh [COMPARE_TSV]       (`make readme-table [COMPARE=...]`)
#
# Without COMPARE_TSV: runs scripts/lab.sh on the bundled digits (BIN: the
# programs, default build/bin; the lab's outputs go to OUT, default a
# temporary directory removed afterwards) and takes its compare.tsv.  With it:
# takes that file (e.g. out/compare.tsv of an earlier `make lab`).
# Rewrites the lines between <!-- lab-table:begin --> and
# <!-- lab-table:end --> of README (default README.md of this checkout) with
# the table scripts/compare-table.awk makes of it, in a fenced block, and
# nothing else; the file is replaced atomically.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
README=${README:-$here/README.md}
die() { echo "readme-table: $*" >&2; exit 1; }
[ $# -le 1 ] || die "usage: scripts/readme-table.sh [COMPARE_TSV]"
[ -w "$README" ] || die "$README: not a writable file"

begin='<!-- lab-table:begin -->'
end='<!-- lab-table:end -->'
[ "$(grep -cxF "$begin" "$README")" -eq 1 ] && [ "$(grep -cxF "$end" "$README")" -eq 1 ] ||
  die "$README: expected one line '$begin' and one line '$end'"
awk -v b="$begin" -v e="$end" '$0 == b { nb = NR } $0 == e { ne = NR } END { exit !(nb < ne) }' \
  "$README" || die "$README: '$end' comes before '$begin'"

tmpdir=
cleanup() { [ -z "$tmpdir" ] || rm -rf "$tmpdir"; }
trap cleanup EXIT
if [ $# -eq 1 ]; then
  compare=$1
  [ -r "$compare" ] || die "$compare: cannot read"
else
  tmpdir=$(mktemp -d)
  out=${OUT:-$tmpdir/out}
  echo "readme-table: running the lab (scripts/lab.sh) into $out ..." >&2
  OUT=$out bash "$here/scripts/lab.sh" >"$tmpdir/lab.log" 2>&1 ||
    { cat "$tmpdir/lab.log" >&2; die "scripts/lab.sh failed"; }
  compare=$out/compare.tsv
fi

table=$(awk -f "$here/scripts/compare-table.awk" "$compare") || die "$compare: not a comparison table"
new=$(mktemp "$README.tmp.XXXXXX")
trap 'rm -f "$new"; cleanup' EXIT
TABLE=$table awk -v b="$begin" -v e="$end" '
  $0 == b { print; print "```"; print ENVIRON["TABLE"]; print "```"; skip = 1; next }
  $0 == e { skip = 0 }
  !skip' "$README" >"$new"
chmod --reference="$README" "$new" 2>/dev/null || true
mv "$new" "$README"
echo "readme-table: $README: the table from $compare" >&2
