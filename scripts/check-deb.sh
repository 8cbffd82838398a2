#!/usr/bin/env bash
# scripts/check-deb.sh [--install] -- build the Debian package (make deb) and
# check it: its control file names the runtime packages of the libraries the
# programs link (GSL, LAPACKE, OpenBLAS, zlib) and recommends gnuplot-nox; it
# holds the programs, the lab and its files.  With --install (as root, on a
# machine that may be changed: CI), apt-get installs it and latent-zoo-lab
# runs on a slice of the digits from an empty directory.
set -euo pipefail
cd "$(dirname "$0")/.."
make deb >/dev/null
deb=$(ls build-deb/latent-zoo_*.deb | head -n 1)
die() { echo "check-deb: $deb: $*" >&2; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgsl libopenblas liblapacke zlib1g; do
  echo "$depends" | grep -q "$lib" || die "Depends lacks $lib: $depends"
done
[ "$(dpkg-deb -f "$deb" Recommends)" = gnuplot-nox ] || die "Recommends is not gnuplot-nox"
files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/bin/lgm_em ./usr/bin/gmm_em ./usr/bin/latent-zoo-lab ./usr/share/latent-zoo/plots/latent.gp \
         ./usr/share/latent-zoo/data/digits.csv; do
  echo "$files" | grep -qx -- "$f" || die "does not hold $f"
done
echo "check-deb: $deb: Depends: $depends"
if [ "${1:-}" = "--install" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "./$deb" >/dev/null
  work=$(mktemp -d)
  head -n 300 data/digits.csv >"$work/slice.csv"
  (cd "$work" && LABEL_COL=last EPOCHS=5 latent-zoo-lab slice.csv >lab.log 2>&1) ||
    { cat "$work/lab.log" >&2; die "the installed latent-zoo-lab failed"; }
  [ -s "$work/out/compare.tsv" ] && [ -s "$work/out/compare.png" ] || die "the installed lab wrote no table or picture"
  echo "check-deb: installed with apt-get; latent-zoo-lab ran in $work"
fi
