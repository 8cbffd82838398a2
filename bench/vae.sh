#!/bin/bash
# bench/vae.sh -- nlgm_vae against PyTorch (see bench_vae.py).  BIN: the
# directory of the programs (default build/bin); extra arguments go to the script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/bench_vae.py" --bin "${BIN:-$here/../build/bin}/nlgm_vae" "$@"
