"""blas_kernel.py -- the BLAS kernel of every side of a benchmark, and the
same best kernel for all of them.

latent-zoo's programs run the best OpenBLAS kernel the CPU supports by
themselves (common/lz_kernel.h: on a CPU that OpenBLAS does not know they set
OPENBLAS_CORETYPE and start again) and name it in `--version`.  The peers --
numpy, scikit-learn (through scipy) and PyTorch -- call the same OpenBLAS
library (Debian's libblas.so.3 alternative points at it) and run whatever
kernel it picked by itself.  So that ratios compare best against best:

    import blas_kernel
    blas_kernel.align(path_to_one_of_our_programs)   # first thing in main()
    ...
    blas_kernel.report({"lgm_em": path}, peers=("numpy", "scikit-learn"))

align() reads our program's kernel; when latent-zoo chose it (or the user's
OPENBLAS_CORETYPE did, which the peers then share already), it sets
OPENBLAS_CORETYPE to it and executes the benchmark again -- OpenBLAS reads the
variable only when it loads, and numpy has loaded it by then.  report() prints
one line a side: our --version's BLAS line; numpy/scikit-learn's OpenBLAS as
threadpoolctl sees it (version, the kernel it calls 'architecture', threads);
PyTorch's BLAS (its build's BLAS_INFO, the library its GEMMs call, with that
library's kernel) and the vector level of its own kernels (ATen's "CPU
capability").
"""
import os
import re
import subprocess
import sys


def ours(binary):
    """(description, kernel, origin) from `binary --version`'s BLAS line."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                         check=True).stdout
    line = next((l for l in out.splitlines() if l.startswith("BLAS: ")), None)
    if line is None:
        sys.exit(f"{binary} --version names no BLAS: {out.strip()}")
    m = re.search(r"kernel (\S+) \((.*?)\)", line)
    return line[len("BLAS: "):], m.group(1) if m else "?", m.group(2) if m else "?"


def align(binary):
    """Give this process (and so numpy, scikit-learn, PyTorch) the kernel our
    program runs, executing the script again if OPENBLAS_CORETYPE must change."""
    if os.environ.get("OPENBLAS_CORETYPE") is not None:
        return  # the user's setting, or set by an earlier align(): shared already
    _, kernel, origin = ours(binary)
    if origin.startswith("chosen by latent-zoo"):
        os.environ["OPENBLAS_CORETYPE"] = kernel
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable] + sys.orig_argv[1:])


def _openblas_info():
    from threadpoolctl import threadpool_info
    return [i for i in threadpool_info() if i.get("internal_api") == "openblas"]


def _fmt_openblas(i):
    return (f"OpenBLAS {i.get('version')}, kernel {i.get('architecture')}, "
            f"{i.get('num_threads')} threads ({i.get('filepath')})")


def _mapped(name_part):
    """Files mapped into this process whose name contains name_part."""
    try:
        with open("/proc/self/maps") as f:
            paths = {l.split()[-1] for l in f if "/" in l and name_part in l.split()[-1]}
        return sorted(paths)
    except OSError:
        return []


def report(programs, peers=()):
    """Print the BLAS kernel of each of our programs ({label: binary}) and of
    the peers ("numpy", "scikit-learn", "pytorch") in this process."""
    env = os.environ.get("OPENBLAS_CORETYPE")
    print(f"BLAS kernels (OPENBLAS_CORETYPE={env if env is not None else 'not set'}):")
    for label, binary in programs.items():
        print(f"  {label + ':':22s} {ours(binary)[0]}")
    if "numpy" in peers or "scikit-learn" in peers:
        import numpy  # noqa: F401  (loads the BLAS)
        if "scikit-learn" in peers:
            import scipy.linalg  # noqa: F401  (scikit-learn's BLAS/LAPACK)
            import sklearn  # noqa: F401
        info = _openblas_info()
        names = "/".join(p for p in ("numpy", "scikit-learn") if p in peers)
        if info:
            for i in info:
                print(f"  {names + ':':22s} {_fmt_openblas(i)}")
        else:
            print(f"  {names + ':':22s} no OpenBLAS loaded (threadpoolctl: "
                  f"{[i.get('internal_api') for i in __import__('threadpoolctl').threadpool_info()]})")
    if "pytorch" in peers:
        import torch
        cfg = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
        cap = re.search(r"CPU capability usage: (\S+)", cfg)
        libs = _mapped("libblas.so") + _mapped("libmkl")
        info = _openblas_info()
        kern = "; ".join(_fmt_openblas(i) for i in info) if info else "no OpenBLAS loaded"
        print(f"  {'pytorch:':22s} torch {torch.__version__}, BLAS_INFO={blas.group(1) if blas else '?'}: "
              f"GEMMs through {', '.join(libs) if libs else '?'} = {kern}")
        print(f"  {'':22s} its own vectorised kernels: {cap.group(1) if cap else '?'} "
              f"(ATen CPU capability)")
    sys.stdout.flush()
