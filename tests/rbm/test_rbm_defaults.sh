# test_rbm_defaults.sh -- rbm_cd's per-algorithm defaults on the bundled
# digits (H = 16: the exact held-out log-likelihood every epoch): CD-1 and
# PCD-1 with the defaults end near their best epoch and well above the
# initial model, without the end-of-run note; --keep-best writes the best
# epoch's model (reloaded and scored); the note names the falls of a run
# that falls; --help states the per-algorithm rules.
source "$SRC/tests/lib.sh"
RBM="$BIN/rbm_cd"
DIG=(--label-col last --scale 16 --split 0.2 --hidden 16 --monitor 0 --n-samples 0 --threads 2)
FALL=2 # nats: the end-of-run note's threshold (LL_FALL_NOTE in models/rbm/main.c)

# ll_test of the trace, one line an epoch
ll() { column "$1" ll_test; }
# the trace's best held-out ll and its epoch (the earliest of equals)
best() { awk 'NR > 1 && (NR == 2 || $5 > b) { b = $5; e = $1 } END { printf "%.17g %d\n", b, e }' "$1"; }
check_column_is_ll_test() { head -1 "$1" | awk '{ exit !($6 == "ll_test") }' || fail "$1: column 5 is not ll_test"; }

# ---- the defaults: the final held-out ll within FALL nats of the best
# epoch's and at least 2 nats above the initial model's, and no note.  The
# default 30 epochs for both (about 2 s each).
for alg in cd pcd; do
  flag=(); [ $alg = pcd ] && flag=(--pcd)
  "$RBM" "${DIG[@]}" "${flag[@]}" -o $alg/rbm "$DIGITS" >$alg.out 2>&1 || { cat $alg.out >&2; fail "$alg run failed"; }
  check_column_is_ll_test $alg/rbm.trace.dat
  [ "$(rows $alg/rbm.trace.dat)" -eq 31 ] || fail "$alg: expected epochs 0..30 (the default)"
  read -r b be < <(best $alg/rbm.trace.dat)
  first=$(ll $alg/rbm.trace.dat | head -1)
  last=$(ll $alg/rbm.trace.dat | tail -1)
  awk -v f="$first" -v l="$last" -v b="$b" -v t=$FALL 'BEGIN { exit !(l >= b - t && l >= f + 2) }' ||
    fail "$alg defaults: final held-out ll $last, best $b (epoch $be), initial $first"
  ! grep -q '^note: ' $alg.out || fail "$alg defaults: the run printed $(grep '^note: ' $alg.out)"
  ok
done
# the header line states the resolved defaults: PCD's rate 6 M/n = 600/1438,
# capped at 0.3
grep -q 'PCD-1 on .*n = 1438, .*batch 100, lr 0.3 decaying linearly to 0, momentum 0' pcd.out ||
  fail "PCD header: $(grep 'PCD-1 on' pcd.out)"
grep -q 'CD-1 on .*batch 20, lr 0.1, momentum 0.5' cd.out || fail "CD header: $(grep 'CD-1 on' cd.out)"
ok
# an option given wins over the rule, and the rule follows --batch: 6 x 50 / 1438
"$RBM" "${DIG[@]}" --pcd --lr 0.05 --epochs 0 -o g/rbm "$DIGITS" >g.out 2>&1 || fail "--pcd --lr 0.05 failed"
grep -q 'batch 100, lr 0.05 decaying' g.out || fail "--lr 0.05: $(grep 'PCD-1 on' g.out)"
"$RBM" "${DIG[@]}" --pcd --batch 50 --lr-decay none --epochs 0 -o g/rbm "$DIGITS" >g.out 2>&1 || fail "--batch 50 failed"
grep -q 'batch 50, lr 0.208623, momentum 0' g.out || fail "--batch 50: $(grep 'PCD-1 on' g.out)"
ok

# ---- a run that falls: PCD at a large constant rate with momentum (the
# old defaults' kind), 10 epochs; with and without --keep-best
BAD=(--pcd --lr 0.2 --batch 10 --momentum 0.5 --lr-decay none --epochs 10)
"$RBM" "${DIG[@]}" "${BAD[@]}" -o bad/rbm "$DIGITS" >bad.out 2>&1 || fail "falling run failed"
"$RBM" "${DIG[@]}" "${BAD[@]}" --keep-best --save kb.model -o kb/rbm "$DIGITS" >kb.out 2>&1 ||
  { cat kb.out >&2; fail "--keep-best run failed"; }
# --keep-best does not change training: the same trace, every epoch
same_results bad/rbm.trace.dat kb/rbm.trace.dat
[ "$(rows kb/rbm.trace.dat)" -eq 11 ] || fail "--keep-best: the trace lost epochs"
read -r b be < <(best kb/rbm.trace.dat)
last=$(ll kb/rbm.trace.dat | tail -1)
# the property the test relies on: this run ends more than FALL below its best
awk -v l="$last" -v b="$b" -v t=$FALL 'BEGIN { exit !(l < b - t) }' ||
  fail "the falling run ends at $last, best $b: it no longer falls (choose a worse setting)"
ok
# the note: the falls (each > FALL between consecutive epochs), the end against the best
falls=$(ll kb/rbm.trace.dat | awk -v t=$FALL 'NR > 1 && p - $1 > t { n++ } { p = $1 } END { print n + 0 }')
[ "$falls" -ge 1 ] || fail "no fall of more than $FALL nats in the falling run"
grep -q "^note: the exact held-out log-likelihood fell by more than $FALL nats between consecutive epochs" bad.out ||
  fail "no note: $(cat bad.out)"
[ "$(grep -c '^note: ' bad.out)" -eq 1 ] || fail "the note takes more than one line"
grep '^note: ' bad.out | grep -q -- "--keep-best" || fail "the note does not suggest --keep-best"
grep '^note: ' kb.out | grep -vq -- "or --keep-best" || fail "with --keep-best the note suggests it"
if [ "$falls" -eq 1 ]; then times=once; elif [ "$falls" -eq 2 ]; then times=twice; else times="$falls times"; fi
grep '^note: ' bad.out | grep -q "consecutive epochs $times" || fail "note: expected $times: $(grep '^note: ' bad.out)"
ok
# --keep-best: the summary, the report and the saved model are the best epoch's
kept=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kept_epoch") c = i } NR == 2 { print $c }' kb/rbm.summary.tsv)
[ "$kept" = "$be" ] || fail "--keep-best kept epoch $kept, the trace's best is epoch $be"
kept_last=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "kept_epoch") c = i } NR == 2 { print $c }' bad/rbm.summary.tsv)
[ "$kept_last" = 10 ] || fail "without --keep-best the summary names epoch $kept_last, not the last"
grep -q "^--keep-best: the model of epoch $be of 10" kb.out || fail "report: $(grep -- '--keep-best' kb.out)"
# the run's own final score, and a fresh --load of the saved model, equal the
# trace's ll_test at the kept epoch (the same evaluation of the same floats)
"$RBM" --load kb.model --label-col last --split 0.2 --threads 2 --n-samples 0 -o l/rbm "$DIGITS" >l.out 2>&1 ||
  { cat l.out >&2; fail "--load kb.model failed"; }
for f in kb/rbm.summary.tsv l/rbm.summary.tsv; do
  awk -F'\t' -v b="$b" 'NR == 2 { d = $6 - b; if (d < 0) d = -d; exit !(d <= 1e-9 * (b < 0 ? -b : b)) }' $f ||
    fail "$f: ll_test $(awk -F'\t' 'NR == 2 { print $6 }' $f), the trace's best $b (epoch $be)"
done
# the model written differs from the last epoch's (it ends more than FALL below)
same_files kb/rbm.filters.dat l/rbm.filters.dat
! cmp -s kb/rbm.filters.dat bad/rbm.filters.dat || fail "--keep-best wrote the last epoch's filters"
ok

# ---- --keep-best is refused without the exact log-likelihood every epoch
expect_error r/rbm -- '--keep-best needs the exact log-likelihood of every epoch.*H = 30' \
  "$RBM" "${DIG[@]}" --hidden 30 --keep-best -o r/rbm "$DIGITS"
expect_error r/rbm -- '--keep-best needs.*--exact-max-h 10' \
  "$RBM" "${DIG[@]}" --exact-max-h 10 --keep-best -o r/rbm "$DIGITS"
expect_error r/rbm -- '--keep-best and --load' "$RBM" --load kb.model --keep-best -o r/rbm "$DIGITS"
expect_error r/rbm -- '--lr-decay.*expected one of none\|linear' \
  "$RBM" "${DIG[@]}" --lr-decay cosine -o r/rbm "$DIGITS"
expect_error r/rbm -- '--batch -2147483648|option --batch' \
  "$RBM" "${DIG[@]}" --batch -2147483648 -o r/rbm "$DIGITS"

# ---- --help states the rules in words
"$RBM" --help >help.txt || fail "--help failed"
tr -s ' \n' ' ' <help.txt >help1.txt
grep -q -- '--lr ALPHA .*(default: 0.1 for CD; for PCD and PT 6 M/n, at most 0.3,' help1.txt || fail "--help: --lr's rule"
grep -q -- '--batch M .*(default: 20 for CD, 100 for PCD and PT)' help1.txt || fail "--help: --batch's rule"
grep -q -- '--momentum MU .*(default: 0.5 for CD, 0 for PCD and PT)' help1.txt || fail "--help: --momentum's rule"
grep -q -- '--lr-decay none|linear .*ALPHA (1 - t/T).*(default: none for CD, linear for PCD and PT)' help1.txt ||
  fail "--help: --lr-decay's rule"
! grep -q 'nan\|-2147483648' help.txt || fail "--help shows an unset marker"
ok
done_ok
