# tests/lib.sh -- helpers for the end-to-end tests (sourced by tests/*/*.sh).
# ctest gives each script BIN (the programs), SRC (the source tree) and TMP
# (a scratch directory of its own).
set -euo pipefail
: "${BIN:?BIN is not set}" "${SRC:?SRC is not set}" "${TMP:?TMP is not set}"
export LC_ALL=C
rm -rf "$TMP"
mkdir -p "$TMP"
cd "$TMP"
DIGITS="$SRC/data/digits.csv"
N_CHECKS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { N_CHECKS=$((N_CHECKS + 1)); }
done_ok() { echo "PASS: $N_CHECKS checks"; }

# run_ok CMD...: the command must succeed (its output goes to run.log).
run_ok() {
  if ! "$@" >run.log 2>&1; then
    cat run.log >&2
    fail "command failed: $*"
  fi
  ok
}

# far_data FILE [SCALE]: 200 rows near a plane, x1 = t + e, x2 = t - e,
# x3 = 2 e (e a hundredth of t's size, x3 multiplied by SCALE), with a little
# noise; then line 202 "2,-2,NA": x1 and x2 each inside their range, their
# difference far outside what x3 holds, so a model with the plane (k = 2)
# completes x3 near 4 SCALE, far beyond x3's observed [-0.02, 0.02] SCALE.
far_data() {
  awk -v s="${2:-1}" 'BEGIN { print "x1,x2,x3"
    for (i = 1; i <= 200; i++) { t = 3 * sin(i * 1.3); e = 0.01 * sin(i * 7.1); n = 1e-4
      printf "%.10g,%.10g,%.10g\n", t + e + n * sin(i * 3.7), t - e + n * sin(i * 5.3), s * (2 * e + n * sin(i * 2.9)) }
    print "2,-2,NA" }' >"$1"
}
# far_note LOG: the note on completed values far outside the data, naming x3
# of line 202 (far_data's last row)
far_note() {
  grep -q 'note: 1 row holds 1 completed value beyond its column.s observed values .* at far[^:]*\.csv:202: field 3 (x3)' "$1"
}

# tail_data TRAIN TEST: 300 training and 120 test rows of 4 columns, three
# of them along a line with noise; column 4 is 0 but in training row 7
# (0.01) and test row 50 ($TAIL_FAR, default 5, line 50): that one test
# value, hundreds or thousands of the column's standard deviations out,
# makes the test set's ll/N.
tail_data() {
  awk 'BEGIN { for (i = 1; i <= 300; i++) { t = sin(i * 1.7)
    printf "%.8g,%.8g,%.8g,%s\n", t + 0.3 * sin(i * 3.1), 2 * t + 0.3 * cos(i * 2.3), -t + 0.3 * sin(i * 5.9), i == 7 ? "0.01" : "0" } }' >"$1"
  awk -v far="${TAIL_FAR:-5}" 'BEGIN { for (i = 1; i <= 120; i++) { t = sin(i * 2.9)
    printf "%.8g,%.8g,%.8g,%s\n", t + 0.3 * sin(i * 4.1), 2 * t + 0.3 * cos(i * 3.3), -t + 0.3 * sin(i * 6.9), i == 50 ? far : "0" } }' >"$2"
}

# tail_note REGEX UNITS CMD...: CMD (without DATA) on tail_data's files,
# column 4 times each of UNITS, with the test set (`--test tail_te.csv -o
# tl/run`): its output matches REGEX (a note naming tail_te.csv's line 50);
# then without that row: no note that a few rows make the test ll/N.
tail_note() {
  local regex=$1 units=$2 c
  shift 2
  tail_data tail_train.csv tail_test.csv
  for c in $units; do
    awk -F, -v OFS=, -v c=$c '{ $4 = sprintf("%.17g", $4 * c); print }' tail_train.csv >tail_tr.csv
    awk -F, -v OFS=, -v c=$c '{ $4 = sprintf("%.17g", $4 * c); print }' tail_test.csv >tail_te.csv
    run_ok "$@" tail_tr.csv --test tail_te.csv -o tl/run
    grep -Eq "$regex" run.log || { cat run.log; fail "column 4 times $c: no note naming test line 50"; }
  done
  sed "s/,${TAIL_FAR:-5}\$/,0/" tail_test.csv >tail_te.csv
  run_ok "$@" tail_train.csv --test tail_te.csv -o tl/run
  ! grep -q 'made by a few rows' run.log || fail "a note that a few rows make the test ll/N, without the far row"
}

# expect_error PREFIX REGEX CMD...: the command must exit non-zero without
# crashing (status < 128), print exactly one line to stderr matching REGEX
# (grep -E), and leave no file whose path starts with PREFIX.
expect_error() {
  local prefix=$1 regex=$2
  shift 2
  local rc=0
  "$@" >stdout.log 2>stderr.log || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure, got success: $*"
  [ "$rc" -lt 128 ] || { cat stderr.log >&2; fail "crashed (status $rc): $*"; }
  local lines
  lines=$(wc -l <stderr.log)
  [ "$lines" -eq 1 ] || { cat stderr.log >&2; fail "expected one line on stderr, got $lines: $*"; }
  grep -Eq -- "$regex" stderr.log || { cat stderr.log >&2; fail "stderr does not match /$regex/: $*"; }
  local left
  left=$(ls -d "$prefix"* 2>/dev/null | head -1 || true)
  [ -z "$left" ] || fail "output left behind after a failed run: $left ($*)"
  ok
}

# reader_errors PREFIX PROG [ARGS...]: the errors every program shares because
# it reads data through common/ (docs/developers.md): files that cannot be
# read, malformed text, rows or columns with nothing observed, a missing
# label, values that are not finite or too large for a variance, a test file
# of the wrong width, broken IDX and gzip files, data without variance.  ARGS
# make the model itself valid on 3 columns (-k 1, -K 1).  Writes its fixture
# files into the current directory; ok.csv (4 rows, 3 columns) stays for the
# caller.
reader_errors() {
  local P=$1 prog=$2
  shift 2
  printf '1,2,3\n4,5,6\n7,8,10\n2,1,0\n' >ok.csv
  printf '1,2\n3,4\n5,6\n' >two_cols.csv
  : >empty.csv
  printf '# a b c\n' >header_only.csv
  printf '1,2,3\n4,5\n7,8,9\n' >ragged.csv
  printf '1,2,3\n4,x,6\n7,8,9\n' >text.csv
  printf '1,2,3\n4,5,6\n7,-inf,9\n' >inf.csv
  printf '1,2,3\nNA,,?\n7,8,9\n' >allmiss.csv
  printf '1,2,3,a\n4,5,6,NA\n7,8,9,b\n' >nolabel.csv
  printf '1,NA,3\n4,NA,6\n7,,9\n2,?,1\n' >nocol.csv
  printf '1,2,3\n1,2,3\n1,2,3\n' >all_constant.csv
  # 50 identical rows of values whose mean is not exact in binary: rounding is no variance
  local i
  for i in $(seq 50); do echo '0.1,0.7,3.3,1e-3'; done >identical.csv
  # values too large for a variance
  printf '1,1.7e308,3\n4,1e308,6\n7,-1.5e308,9\n2,0,1\n' >huge.csv
  # ... the largest of them negative: quoted as it is, not as its magnitude
  printf '1,1e200,3\n4,-1.7e308,6\n7,2,9\n2,0,1\n' >huge_neg.csv
  # IDX: a header promising 3 images of 2x2 followed by 5 bytes; a wrong magic
  printf '\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05' >trunc-images-idx3-ubyte
  printf '\x00\x00\x07\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04' >magic-images-idx3-ubyte
  gzip -c trunc-images-idx3-ubyte | head -c 20 >cut.gz
  expect_error "$P" 'missing\.csv: cannot open' "$prog" missing.csv "$@" -o "$P"
  expect_error "$P" 'empty\.csv: empty file' "$prog" empty.csv "$@" -o "$P"
  expect_error "$P" 'header_only\.csv: .*expected' "$prog" header_only.csv "$@" -o "$P"
  expect_error "$P" 'ragged\.csv:2: 2 fields: expected 3' "$prog" ragged.csv "$@" -o "$P"
  expect_error "$P" "text\.csv:2: field 2: expected a number, got 'x'" "$prog" text.csv "$@" -o "$P"
  expect_error "$P" 'allmiss\.csv:2: every value of the row is missing' "$prog" allmiss.csv "$@" -o "$P"
  expect_error "$P" 'nolabel\.csv:2: field 4: the label is missing' "$prog" nolabel.csv "$@" --label-col last -o "$P"
  expect_error "$P" 'nocol\.csv: field 2: every value is missing: expected at least one observed' "$prog" nocol.csv "$@" -o "$P"
  expect_error "$P" 'inf\.csv:3: field 2: .*finite' "$prog" inf.csv "$@" -o "$P"
  expect_error "$P" 'two_cols\.csv:1: 2 feature columns: expected 3' "$prog" ok.csv "$@" --test two_cols.csv -o "$P"
  expect_error "$P" 'trunc-images-idx3-ubyte: truncated IDX' "$prog" trunc-images-idx3-ubyte "$@" -o "$P"
  expect_error "$P" 'magic-images-idx3-ubyte: byte 0: bad IDX magic' "$prog" magic-images-idx3-ubyte "$@" -o "$P"
  expect_error "$P" 'cut\.gz: truncated or corrupt gzip' "$prog" cut.gz "$@" -o "$P"
  expect_error "$P" 'all_constant\.csv: every column is constant' "$prog" all_constant.csv "$@" -o "$P"
  expect_error "$P" 'identical\.csv: every column is constant' "$prog" identical.csv "$@" -o "$P"
  expect_error "$P" 'huge\.csv: field 2: values up to 1.7e\+308 are too large' "$prog" huge.csv "$@" -o "$P"
  expect_error "$P" 'huge_neg\.csv: field 2: values down to -1.7e\+308 are too large' "$prog" huge_neg.csv "$@" -o "$P"
}

# unwritable_prefix CMD...: with -o in a directory it may not write to, the
# run fails naming the prefix and leaves nothing (skipped where root writes
# anyway).
unwritable_prefix() {
  mkdir -p ro && chmod 555 ro
  if [ ! -w ro ]; then
    expect_error ro/x 'ro/x\..*: cannot create' "$@" -o ro/x
  fi
  chmod 755 ro
}

# check_columns FILE NAME...: FILE's first line is "# " + names, including
# every NAME, and every following line has as many fields as the header.
check_columns() {
  local f=$1
  shift
  [ -s "$f" ] || fail "$f: missing or empty"
  local head
  head=$(head -n 1 "$f")
  [ "${head:0:2}" = "# " ] || fail "$f: first line is not a '# ' header: $head"
  for c in "$@"; do
    echo " ${head:2} " | tr '\t' ' ' | grep -q " $c " || fail "$f: no column '$c' in: $head"
  done
  awk -F'[ \t]+' 'NR == 1 { n = NF - 1; next } NF != n { printf "%s:%d: %d fields, header has %d\n", FILENAME, NR, NF, n; bad = 1; exit } END { exit bad }' "$f" \
    || fail "$f: ragged rows"
  ok
}

# rows FILE: the number of data rows (header and comments excluded).
rows() { grep -cv '^#' "$1" || true; }

# column FILE NAME: print the values of a named column.
column() {
  awk -v name="$2" 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == name) c = i - 1; next }
                    c { print $c }' FS='[ \t]+' "$1"
}

# all_finite FILE: every number in FILE is finite (no nan / inf).
all_finite() {
  ! grep -v '^#' "$1" | grep -Eqi '(^|[ \t])[-+]?(nan|inf)' || fail "$1: non-finite values"
  ok
}

# same_files A B: byte-identical.
same_files() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; ok; }

# strip_timing FILE: FILE without its timing columns (names "seconds",
# "*_seconds", "*_per_sec", "gflops"), which differ between identical runs.
strip_timing() {
  awk 'BEGIN { FS = "[ \t]+" }
       NR == 1 { for (i = 2; i <= NF; i++) if ($i ~ /(^|_)seconds$|_per_sec$|^gflops$/) drop[i - 1] = 1 }
       /^#/ && NR > 1 { print; next }
       { s = ""; for (i = 1; i <= NF; i++) { j = (NR == 1) ? i - 1 : i; if (!(j in drop)) s = s (s == "" ? "" : " ") $i } print s }' "$1"
}

# same_results A B: identical but for timing columns.
same_results() {
  [ -s "$1" ] && [ -s "$2" ] || fail "$1 or $2 missing"
  diff <(strip_timing "$1") <(strip_timing "$2") >/dev/null || fail "$1 and $2 differ beyond timing columns"
  ok
}

# ---- pictures (decoded by gnuplot itself, so no other tool is needed)
# hist PNG: "count #rrggbb" for every colour of the decoded PNG, read on every
# other pixel of every other row (4 times faster; a PNG with more than one
# colour in the sample has more than one colour).
hist() {
  gnuplot -e "set table '/dev/stdout'; plot '$1' binary filetype=png every 2:2 with rgbimage" \
    | awk '!/^#/ && NF >= 5 { c[sprintf("#%02x%02x%02x", $3, $4, $5)]++ } END { for (k in c) print c[k], k }'
}
# check_png PNG: exists, starts with the PNG signature, decodes, and has more
# than one colour; keeps its histogram in PNG.hist for check_colour.
check_png() {
  [ -s "$1" ] || fail "$1: missing or empty"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1: not a PNG (signature)"
  hist "$1" >"$1.hist"
  local n
  n=$(wc -l <"$1.hist")
  [ "$n" -gt 1 ] || fail "$1: blank ($n colour)"
  echo "$1: $n colours"
  ok
}
# check_colour PNG #rrggbb MIN: at least MIN sampled pixels have exactly this
# colour: the data were drawn, not only the axes and the legend.  A legend
# sample (a short line or one point) covers under 30 sampled pixels; a curve
# across the chart several hundred, a cluster of 40 points about 80.
check_colour() {
  local n
  n=$(awk -v c="$2" '$2 == c { print $1 }' "$1.hist")
  [ "${n:-0}" -ge "$3" ] || fail "$1: $2 on ${n:-0} sampled pixels, expected at least $3 (data not drawn?)"
  ok
}
