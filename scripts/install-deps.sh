#!/usr/bin/env bash
# Install the Debian packages latent-zoo needs, when they are missing.
#   scripts/install-deps.sh            build, test and run (make lab / make test)
#   scripts/install-deps.sh --bench    also the benchmark peers and data
#   scripts/install-deps.sh --fuzz     also clang and libFuzzer (make fuzz)
#   scripts/install-deps.sh --format   also clang-format (make format, make format-check)
# Checks each package with dpkg -s; installs the missing ones with apt-get,
# as root or through sudo; says clearly what to do when neither is possible.
set -euo pipefail

pkgs=(cmake make gcc pkg-config libgsl-dev liblapacke-dev libopenblas-dev
      check libsubunit-dev zlib1g-dev gnuplot-nox)
if [ "${1:-}" = "--bench" ]; then
  pkgs+=(dataset-fashion-mnist python3-sklearn python3-torch python3-numpy python3-threadpoolctl
         r-base-core r-cran-mclust r-bioc-pcamethods)
fi
if [ "${1:-}" = "--fuzz" ]; then
  pkgs+=(clang libclang-rt-dev libomp-dev)
fi
if [ "${1:-}" = "--format" ]; then
  pkgs+=(clang-format)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
  # a fresh machine may have no package lists yet
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
