#!/usr/bin/env bash
# The BLAS kernel the programs run and say they run (common/lz_kernel.h):
# --version and the header of a training run name the kernel OpenBLAS itself
# reports (OPENBLAS_VERBOSE=2 makes the library print "Core: NAME" each time
# it loads), say where it came from, and the start-up executes a program
# again only when it chooses a kernel -- never over the user's
# OPENBLAS_CORETYPE.  LZ_KERNEL_TEST_PRETEND runs the re-execution path on a
# CPU that OpenBLAS knows.
source "$SRC/tests/lib.sh"
unset OPENBLAS_CORETYPE LZ_KERNEL_CHOSEN LZ_KERNEL_TEST_PRETEND OPENBLAS_VERBOSE

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
vendor=$(grep -m1 '^vendor_id' /proc/cpuinfo 2>/dev/null | awk '{print $3}' || true)
has() { [[ " ${flags#*:} " == *" $1 "* ]]; }

# the kernel latent-zoo gives this CPU when OpenBLAS falls back to Prescott
# (lz_kernel_choose), from Linux's own flags; empty on an SSE-only or non-x86 CPU
best=
case "$vendor" in
  GenuineIntel|AuthenticAMD|HygonGenuine)
    if has avx && has avx2 && has fma && has avx512f && has avx512cd && has avx512bw &&
       has avx512dq && has avx512vl; then best=SkylakeX
    elif has avx && has avx2 && has fma; then
      [ "$vendor" = GenuineIntel ] && best=Haswell || best=Zen
    elif has avx; then best=Sandybridge
    fi ;;
esac

# cores: the threads of a default run (one per core)
cores=$(nproc)
[ "$cores" -eq 1 ] && thr="1 thread" || thr="$cores threads"

re_ver='OpenBLAS [0-9]+\.[0-9]+\.[0-9]+'
for prog in pca_iter lgm_em nlgm_vae rbm_cd; do
  # plain: the kernel OpenBLAS reports, once loaded (twice when latent-zoo chose one)
  # (OMP_WAIT_POLICY set: pca_iter's own re-execution for it, tested below, is not made)
  OMP_WAIT_POLICY=active OPENBLAS_VERBOSE=2 "$BIN/$prog" --version >v.txt 2>core.txt || fail "$prog --version failed"
  [ "$(wc -l <v.txt)" -eq 2 ] || fail "$prog --version: expected two lines: $(cat v.txt)"
  grep -q "^$prog (latent-zoo) " v.txt || fail "$prog --version, first line: $(head -1 v.txt)"
  core=$(grep '^Core: ' core.txt | tail -1 | cut -d' ' -f2)
  loads=$(grep -c '^Core: ' core.txt)
  [ -n "$core" ] || fail "OpenBLAS printed no 'Core:' line with OPENBLAS_VERBOSE=2"
  line=$(sed -n 2p v.txt)
  if [ "$loads" -eq 1 ]; then
    origin='\(auto\)'
  else
    [ "$loads" -eq 2 ] || fail "$prog: OpenBLAS loaded $loads times"
    origin='\(chosen by latent-zoo: OpenBLAS [0-9.]+ does not know this CPU and picked [A-Za-z0-9_]+\)'
  fi
  if [ "$prog" = rbm_cd ]; then tail="1 thread in each of up to $cores OpenMP threads?"
  else tail=$thr; fi
  [[ "$line" =~ ^BLAS:\ $re_ver,\ kernel\ $core\ $origin,\ $tail$ ]] ||
    fail "$prog --version: '$line' (OpenBLAS says Core: $core, loaded $loads times)"
  ok
done

# pca_iter's OpenMP threads sleep while they wait (its EM on missing values
# runs many short parallel regions, which stall when another job shares the
# cores): unless the user set OMP_WAIT_POLICY, it executes itself again with
# OMP_WAIT_POLICY=passive, which libgomp shows as a spin count of 0; the
# kernel is still OpenBLAS's own choice; other programs are not executed again
OMP_DISPLAY_ENV=verbose OMP_WAIT_POLICY=active "$BIN/pca_iter" --version >va.txt 2>env.txt || fail "pca_iter (active)"
[ "$(grep -c "GOMP_SPINCOUNT" env.txt)" -eq 1 ] && ! grep -q "GOMP_SPINCOUNT = '0'" env.txt ||
  fail "pca_iter: the user's OMP_WAIT_POLICY=active replaced: $(cat env.txt)"
OMP_DISPLAY_ENV=verbose "$BIN/pca_iter" --version >v.txt 2>env.txt || fail "pca_iter --version (passive) failed"
[ "$(grep -c "GOMP_SPINCOUNT = '0'" env.txt)" -eq 1 ] || fail "pca_iter: not executed again with passive waits: $(cat env.txt)"
[ "$(grep "GOMP_SPINCOUNT" env.txt | tail -1)" = "  GOMP_SPINCOUNT = '0'" ] || fail "pca_iter: the last start is not the passive one"
# the same kernel, reported the same way, and the version printed once
same_files va.txt v.txt
OMP_DISPLAY_ENV=verbose "$BIN/lgm_em" --version >v.txt 2>env.txt || fail "lgm_em --version (spin)"
! grep -q "GOMP_SPINCOUNT = '0'" env.txt || fail "lgm_em executed again with passive waits"
ok

# the user's setting: reported as such, never replaced, even by a weaker kernel
if [ -n "$best" ] && [ "$best" != Sandybridge ]; then user=Haswell; else user=Prescott; fi
for k in $user Prescott; do
  OPENBLAS_VERBOSE=2 OPENBLAS_CORETYPE=$k LZ_KERNEL_TEST_PRETEND=Prescott \
    "$BIN/lgm_em" --version >v.txt 2>core.txt || fail "OPENBLAS_CORETYPE=$k lgm_em --version failed"
  line=$(sed -n 2p v.txt)
  [[ "$line" =~ ^BLAS:\ $re_ver,\ kernel\ $k\ \(set\ by\ OPENBLAS_CORETYPE\),\ $thr$ ]] ||
    fail "OPENBLAS_CORETYPE=$k: '$line'"
  [ "$(grep -c '^Core: ' core.txt)" -eq 1 ] || fail "OPENBLAS_CORETYPE=$k: executed again: $(cat core.txt)"
  ok
done

# a name OpenBLAS does not take is reported as not taken
OPENBLAS_CORETYPE=NoSuchCore "$BIN/lgm_em" --version >v.txt 2>/dev/null || fail "NoSuchCore: failed"
grep -Eq '^BLAS: .*, kernel [A-Za-z0-9_]+ \(OPENBLAS_CORETYPE=NoSuchCore did not take\), ' v.txt ||
  fail "OPENBLAS_CORETYPE=NoSuchCore: $(sed -n 2p v.txt)"
ok

# the re-execution: pretend OpenBLAS picked Prescott
if [ -n "$best" ]; then
  OPENBLAS_VERBOSE=2 LZ_KERNEL_TEST_PRETEND=Prescott "$BIN/lgm_em" --version >v.txt 2>core.txt ||
    fail "LZ_KERNEL_TEST_PRETEND=Prescott lgm_em --version failed"
  line=$(sed -n 2p v.txt)
  [[ "$line" =~ ^BLAS:\ $re_ver,\ kernel\ $best\ \(chosen\ by\ latent-zoo:\ OpenBLAS\ [0-9.]+\ does\ not\ know\ this\ CPU\ and\ picked\ Prescott\),\ $thr$ ]] ||
    fail "pretend Prescott: '$line' (expected kernel $best)"
  [ "$(grep -c '^Core: ' core.txt)" -eq 2 ] || fail "pretend Prescott: loads: $(cat core.txt)"
  [ "$(grep '^Core: ' core.txt | tail -1)" = "Core: $best" ] || fail "pretend: $(cat core.txt)"
  ok
  # a training run says so in its header, and its arguments survive the execution
  LZ_KERNEL_TEST_PRETEND=Prescott "$BIN/pca_iter" -k 2 --label-col last -o "o p/pca" "$DIGITS" \
    >run.txt 2>&1 || { cat run.txt >&2; fail "pca_iter under LZ_KERNEL_TEST_PRETEND failed"; }
  grep -q "^BLAS: .*, kernel $best (chosen by latent-zoo: " run.txt || fail "header: $(head -3 run.txt)"
  [ -s "o p/pca.summary.tsv" ] || fail "pca_iter: the argument 'o p/pca' did not survive"
  ok
  # the marker, inherited, stops the start-up (it never loops)
  OPENBLAS_VERBOSE=2 LZ_KERNEL_CHOSEN=x LZ_KERNEL_TEST_PRETEND=Prescott "$BIN/lgm_em" --version \
    >v.txt 2>core.txt || fail "marker: failed"
  [ "$(grep -c '^Core: ' core.txt)" -eq 1 ] || fail "marker set: executed again"
  grep -q ' (auto), ' v.txt || fail "marker without OPENBLAS_CORETYPE: $(sed -n 2p v.txt)"
  ok
fi
# a kernel of the CPU's own level is kept: pretend OpenBLAS picked the best one
if [ -n "$best" ]; then
  OPENBLAS_VERBOSE=2 LZ_KERNEL_TEST_PRETEND=$best "$BIN/lgm_em" --version >v.txt 2>core.txt ||
    fail "pretend $best: failed"
  [ "$(grep -c '^Core: ' core.txt)" -eq 1 ] || fail "pretend $best: executed again"
  ok
fi

# the header of a training run names the kernel; --quiet prints no header
digits20="$TMP/d.csv"
head -n 301 "$DIGITS" >"$digits20"
run_hdr() { # PROG ARGS...: the BLAS line of the run's first lines
  local prog=$1
  shift
  "$BIN/$prog" "$@" -o "$TMP/h/$prog" "$digits20" >run.txt 2>&1 || { cat run.txt >&2; fail "$prog $*"; }
  head -n 3 run.txt | grep '^BLAS: ' || true
}
"$BIN/lgm_em" --version | sed -n 2p | sed 's/, [0-9]* threads\?$//' >want.txt
want=$(cat want.txt)
for spec in "pca_iter -k 2 --label-col last" "lgm_em --max-iter 2 --label-col last" \
            "nlgm_vae --epochs 1 --likelihood gaussian --label-col last --iw 5" \
            "rbm_cd --epochs 1 --hidden 4 --scale 16 --label-col last"; do
  # shellcheck disable=SC2086
  h=$(run_hdr $spec --threads 1)
  [[ "$h" == "$want, "* ]] || fail "${spec%% *}: header line '$h', expected '$want, ...'"
  case "$spec" in
    rbm_cd*) [[ "$h" == *", 1 thread in each of up to 1 OpenMP thread" ]] || fail "rbm_cd: '$h'" ;;
    *) [[ "$h" == *", 1 thread" ]] || fail "${spec%% *}: '$h'" ;;
  esac
  # shellcheck disable=SC2086
  h=$(run_hdr $spec --threads 1 -q)
  [ -z "$h" ] || fail "${spec%% *} -q printed '$h'"
  ok
done
done_ok
