#!/usr/bin/python3
"""bench_missing.py -- pca_iter and lgm_em completing missing entries, against
R's pcaMethods (ppca and bpca), on Fashion-MNIST with 10 % of the entries
missing completely at random.

    /usr/bin/python3 bench/bench_missing.py [--n-train N] [BIN_DIR]   (or BIN=... in the environment)

Data: the first N training images (--n-train, default 10000) and the first
N_TEST test images of Fashion-MNIST (Debian dataset-fashion-mnist, grey
levels / 255), each entry hidden with probability 10 % (numpy's
default_rng(SEED); a row keeps at least one entry).  A subset, the same for
every side: pcaMethods' bpca loops over the rows in R and takes about 11 s a
step on 10000 rows of 784 pixels here, and ppca 200 s to converge, so the full
60000 rows would take the benchmark beyond half an hour.  The default was
1000 rows until 2026-11-30; there maximum-likelihood factor analysis
(lgm_em) has Heywood pixels, ink in a few border pixels of 2 rows that it
completes far outside [0, 1], and its imputation RMSE is 0.53 (docs/lgm.md,
"Completed values far outside the data"); from 5000 rows on it is within
1.2 % of ppca's (docs/lgm.md, "Missing entries").

Runs, in one go and on the same machine, every one with k = 20:
  * pca_iter -k 20 --tol 1e-4 (EM for probabilistic PCA over the observed
    entries accelerated by SQUAREM, its default, docs/pca.md; stop at a
    principal angle of 1e-4 rad between the subspaces at the ends of
    successive SQUAREM cycles);
  * pca_iter -k 20 --tol 1e-3 (the same, stopped at 1e-3 rad: the time to
    the same imputation -- its RMSE and test ll equal the 1e-4 run's in the
    digits printed; pcaMethods' own rule, a relative change of 1e-5 of the
    objective, would stop our ll after 3 cycles (10 E-steps), where it
    changes by 7.7e-6);
  * pca_iter -k 20 --tol 1e-4 --accel none (the same EM, plain steps: it
    creeps here, successive angles shrinking by ~0.99 a step);
  * lgm_em -k 20 --tol 1e-6 (exact EM completing the entries, docs/lgm.md;
    the default 1e-9 creeps for minutes along pixels whose D goes to the
    floor: constant pixels of the 1000 rows);
  * pcaMethods::pca(method = "ppca", nPcs = 20) (its defaults: ppca's
    threshold = 1e-5 on the relative change of its objective, after at
    least 5 iterations, and at most 1000 iterations);
  * pcaMethods::pca(method = "bpca", nPcs = 20, maxSteps = BPCA_STEPS)
    (variational Bayesian PCA; its default maxSteps = 100 would take ~10 min
    here, so the script stops it after BPCA_STEPS = 10 and says so).
Prints, for each: seconds of the fit (ours: the summary's `seconds`, reading
the data excluded; and the iterations (SQUAREM: cycles) and E-steps; pcaMethods: R's system.time around pca(), reading
excluded), the observed-data ll per row on the test images (ours: ll_test of
the summary, log N(x_o; mu_o, C_oo) averaged over the test rows; pcaMethods
gives no density: n/a), and the RMSE of the imputed hidden training entries
against their true values (ours: PREFIX.imputed.dat; pcaMethods:
completeObs()).  Mean imputation's RMSE is printed for scale.

The BLAS kernel: our programs choose theirs and name it; R and numpy call the
same libblas.so.3 (OpenBLAS) and get the same kernel through
OPENBLAS_CORETYPE (blas_kernel.align).  The machine is shared: read the
ratios measured within one run.
"""
import argparse
import ctypes
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import blas_kernel

K = 20
N_TRAIN = 10000  # the default of --n-train
N_TEST = 1000
FRAC = 0.10
SEED = 2026
BPCA_STEPS = 10
# stopping: pcaMethods' ppca at a relative change of 1e-5 of its objective; ours at
# an angle between successive subspaces (pca_iter) or a rise of ll/N (lgm_em)
TOL = {"pca": ["--tol", "1e-4"], "pca-loose": ["--tol", "1e-3"],
       "pca-em": ["--tol", "1e-4", "--accel", "none"],
       "lgm": ["--tol", "1e-6", "--n-samples", "0"]}
DATA = "/usr/share/datasets/fashion-mnist"

R_SCRIPT = r"""
suppressMessages(library(pcaMethods))
a <- commandArgs(TRUE)
x <- as.matrix(read.csv(a[1], header = FALSE, na.strings = "NA"))
method <- a[2]; k <- as.integer(a[3]); out <- a[4]; steps <- as.integer(a[5])
t <- system.time(
  r <- if (method == "bpca") pca(x, method = "bpca", nPcs = k, maxSteps = steps)
       else pca(x, method = method, nPcs = k, seed = 1))
xc <- completeObs(r)
writeBin(as.vector(t(xc)), out, size = 8)
cat(sprintf("%.6f\n", t[["elapsed"]]))
"""


def load_idx(path, n):
    with gzip.open(path) as f:
        b = f.read()
    m, r, c = (int.from_bytes(b[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(b, np.uint8, offset=16).reshape(m, r * c)[:n] / 255.0


def mcar(rng, shape, p):
    miss = rng.random(shape) < p
    full = miss.all(1)
    miss[full, 0] = False
    return miss


def write_csv(path, x, miss):
    with open(path, "w") as f:
        for row, mk in zip(x, miss):
            f.write(",".join("NA" if m else repr(float(v)) for v, m in zip(row, mk)) + "\n")


def read_dat(path):
    with open(path) as f:
        names = f.readline()[2:].split()
    return names, np.loadtxt(path, comments="#", ndmin=2)


def summary(path):
    with open(path) as f:
        names = f.readline()[2:].rstrip("\n").split("\t")
        vals = f.readline().rstrip("\n").split("\t")
    return dict(zip(names, vals))


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    core = "?"
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("internal_api") == "openblas":
                lib = ctypes.CDLL(info["filepath"])
                lib.openblas_get_corename.restype = ctypes.c_char_p
                core = f"{lib.openblas_get_corename().decode()} ({info['filepath']})"
    except Exception as e:  # noqa: BLE001 -- a report, not a failure
        core = f"unknown ({e})"
    return cpu, os.cpu_count(), core


def rmse(xhat, x, miss):
    e = (xhat - x)[miss]
    return float(np.sqrt(np.mean(e * e)))


def run_ours(prog, tmp, name, train_csv, test_csv, x, miss):
    pre = os.path.join(tmp, name)
    cmd = [prog, "-k", str(K), *TOL[name], "-q", train_csv, "--test", test_csv, "-o", pre]
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.time() - t
    s = summary(pre + ".summary.tsv")
    _, imp = read_dat(pre + ".imputed.dat")
    return {"secs": float(s["seconds"]), "wall": wall, "ll_test": float(s["ll_test"]),
            "ll_train": float(s["ll_train"]), "iters": s["iterations"],
            # lgm_em counts its E-steps; pca_iter after SQUAREM, else one an iteration plus the first
            "e_steps": s.get("e_steps", str(int(s["iterations"]) + 1)),
            "rmse": rmse(imp[:, :x.shape[1]], x, miss)}


def run_r(tmp, method, train_csv, x, miss):
    rs = os.path.join(tmp, "bench_missing.R")
    with open(rs, "w") as f:
        f.write(R_SCRIPT)
    out = os.path.join(tmp, f"{method}.bin")
    t = time.time()
    p = subprocess.run(["Rscript", rs, train_csv, method, str(K), out, str(BPCA_STEPS)],
                       capture_output=True, text=True)
    wall = time.time() - t
    if p.returncode:
        return None, "pcaMethods failed: " + (p.stderr.strip().split("\n") or ["?"])[-1]
    xc = np.fromfile(out, dtype=np.float64).reshape(x.shape)
    return {"secs": float(p.stdout.strip().split("\n")[-1]), "wall": wall, "ll_test": None,
            "iters": "", "e_steps": "", "rmse": rmse(xc, x, miss)}, None


def main():
    ap = argparse.ArgumentParser(description="pca_iter and lgm_em against pcaMethods, 10 % missing")
    ap.add_argument("--n-train", type=int, default=N_TRAIN, help="training images (default %(default)s)")
    ap.add_argument("bin_dir", nargs="?", default=os.environ.get(
        "BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin")))
    a = ap.parse_args()
    bin_dir, n_train = a.bin_dir, a.n_train
    lgm_em, pca_iter = os.path.join(bin_dir, "lgm_em"), os.path.join(bin_dir, "pca_iter")
    blas_kernel.align(lgm_em)
    x = load_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"), n_train)
    xt = load_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), N_TEST)
    rng = np.random.default_rng(SEED)
    miss, miss_t = mcar(rng, x.shape, FRAC), mcar(rng, xt.shape, FRAC)
    cpu, ncpu, core = machine()
    print(f"Fashion-MNIST: the first {n_train} training and {N_TEST} test images, d = {x.shape[1]}, "
          f"{FRAC:.0%} MCAR (seed {SEED}: {miss.mean():.4f} of the training entries hidden); k = {K}")
    print(f"CPU: {cpu}, {ncpu} logical CPUs; numpy/R OpenBLAS core: {core}")
    blas_kernel.report({"lgm_em": lgm_em, "pca_iter": pca_iter}, peers=("numpy",))
    print("load average at the start: %.2f %.2f %.2f" % os.getloadavg())
    tmp = tempfile.mkdtemp(prefix="bench_missing.")
    train_csv, test_csv = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
    write_csv(train_csv, x, miss)
    write_csv(test_csv, xt, miss_t)

    res = {}
    res["pca_iter"] = run_ours(pca_iter, tmp, "pca", train_csv, test_csv, x, miss)
    res["pca_iter --tol 1e-3"] = run_ours(pca_iter, tmp, "pca-loose", train_csv, test_csv, x, miss)
    res["pca_iter --accel none"] = run_ours(pca_iter, tmp, "pca-em", train_csv, test_csv, x, miss)
    res["lgm_em"] = run_ours(lgm_em, tmp, "lgm", train_csv, test_csv, x, miss)
    notes = {}
    if not shutil.which("Rscript"):
        notes["R"] = "Rscript not found"
    elif subprocess.run(["Rscript", "-e", "library(pcaMethods)"], capture_output=True).returncode:
        notes["R"] = "R package pcaMethods not installed (apt-get install r-bioc-pcamethods)"
    else:
        for meth in ("ppca", "bpca"):
            r, err = run_r(tmp, meth, train_csv, x, miss)
            if r:
                res["pcaMethods " + meth] = r
            else:
                notes[meth] = err
    # mean imputation, for scale
    obs_mean = np.where(miss, 0, x).sum(0) / np.maximum((~miss).sum(0), 1)
    rm_mean = rmse(np.broadcast_to(obs_mean, x.shape), x, miss)

    print("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    print("\nside                       fit s  iters  E-steps   ll/N test (observed)   RMSE hidden entries")
    for name, r in res.items():
        ll = f"{r['ll_test']:20.4f}" if r["ll_test"] is not None else f"{'n/a':>20s}"
        print(f"  {name:22s} {r['secs']:8.3f} {r['iters']:>6s} {r['e_steps']:>8s} {ll}   {r['rmse']:.5f}")
    print(f"  {'mean imputation':22s} {'':8s} {'':6s} {'':8s} {'':20s}   {rm_mean:.5f}")
    if "pcaMethods bpca" in res:
        print(f"  (bpca stopped at maxSteps = {BPCA_STEPS}; its default is 100)")
    for k_, v in notes.items():
        print(f"  {k_}: {v}")
    for ours in ("pca_iter", "pca_iter --tol 1e-3", "pca_iter --accel none", "lgm_em"):
        for peer in ("pcaMethods ppca", "pcaMethods bpca"):
            if peer in res:
                a, b = res[ours], res[peer]
                print(f"{peer} / {ours} time: {b['secs'] / a['secs']:8.1f}x; "
                      f"RMSE {ours} - {peer}: {a['rmse'] - b['rmse']:+.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
