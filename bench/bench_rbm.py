#!/usr/bin/python3
"""bench_rbm.py -- rbm_cd against scikit-learn's BernoulliRBM, in one run.

Both train an RBM with 500 hidden units by PCD-1 (persistent chains, one
Gibbs sweep an update), a constant learning rate 0.05 (rbm_cd: --lr-decay
none), minibatches of 100, no momentum and no weight decay, on
Fashion-MNIST binarised at 0.5 (pixel/255 > 0.5),
for the same number of epochs on the same number of threads.  The update
rules match: scikit-learn's BernoulliRBM._fit uses p(h|v) of the data and of
the chains' visible samples, the chains' sampled visible states, and the
learning rate divided by the batch size, which is rbm_cd's
update (rbm_cd_step) with momentum 0 and weight decay 0.

Both run the same OpenBLAS kernel (blas_kernel.py: the one rbm_cd runs),
printed at the start.  Printed: seconds per epoch of each (rbm_cd's parameter updates alone, and
with its per-epoch monitoring), the ratio, and the test log-likelihood of
rbm_cd's model by AIS.  With --score-sklearn (default) the scikit-learn model
is written as an rbm_cd model file and scored by the same AIS, so the two
models' quality can be compared too.

Run:  /usr/bin/python3 bench/bench_rbm.py [--epochs 3] [--threads 2]
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import blas_kernel

FASHION = "/usr/share/datasets/fashion-mnist"


def load_idx_images(path):
    with gzip.open(path) as f:
        b = f.read()
    n = int.from_bytes(b[4:8], "big")
    return np.frombuffer(b, np.uint8, offset=16).reshape(n, -1)


def read_tsv(path):
    with open(path) as f:
        head = f.readline().lstrip("# ").rstrip("\n").split("\t")
        row = f.readline().rstrip("\n").split("\t")
    return dict(zip(head, row))


def read_trace(path):
    with open(path) as f:
        head = f.readline().lstrip("# ").split()
        rows = [dict(zip(head, map(float, line.split()))) for line in f if line.strip()]
    return rows


def write_model(path, W, b, c, base):
    """An rbm_cd model file (kind rbm, version 1) for scikit-learn's fit."""
    def arr(name, a):
        a = np.atleast_2d(a)
        lines = ["array %s %d %d" % (name, a.shape[0], a.shape[1])]
        lines += [" ".join("%.17g" % v for v in row) for row in a]
        return "\n".join(lines)
    h, d = W.shape
    with open(path, "w") as f:
        f.write("# latent-zoo model\nkind rbm 1\n")
        f.write("int d %d\nint h %d\nint cd_k 1\nint pcd 1\n" % (d, h))
        f.write("str binarize threshold\nreal threshold 0.5\nreal scale 1\n")
        for name, a in (("W", W), ("b", b), ("c", c), ("base", base)):
            f.write(arr(name, np.asarray(a, np.float64)) + "\n")
        f.write("end\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-steps", type=int, default=10000)
    ap.add_argument("--sklearn-dtype", choices=["float64", "float32", "both"], default="both",
                    help="float64 is what BernoulliRBM makes of 0/1 data; float32 is its fast path")
    ap.add_argument("--score-sklearn", type=int, default=1)
    ap.add_argument("--bin", default=None, help="rbm_cd (default: $BIN/rbm_cd, else build/bin/rbm_cd)")
    a = ap.parse_args()

    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    exe = a.bin
    if exe is None:
        exe = os.path.join(os.environ.get("BIN", os.path.join(src, "build", "bin")), "rbm_cd")
    if exe is None or not os.path.exists(exe):
        sys.exit("bench_rbm.py: rbm_cd not found (build it, or give --bin)")
    train = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
    test = os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(train):
        sys.exit("bench_rbm.py: %s missing (apt-get install dataset-fashion-mnist)" % train)

    blas_kernel.align(exe)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    from threadpoolctl import threadpool_limits
    from sklearn.neural_network import BernoulliRBM

    tmp = tempfile.mkdtemp(prefix="bench_rbm.")
    common = ["--hidden", str(a.hidden), "--pcd", "--cd", "1", "--lr", "0.05", "--batch", "100",
              "--momentum", "0", "--lr-decay", "none", "--weight-decay", "0",
              "--threads", str(a.threads),
              "--ais-runs", str(a.ais_runs), "--ais-steps", str(a.ais_steps),
              "--n-samples", "0", "--seed", "1"]

    print("Fashion-MNIST binarised at 0.5: 60000 train, 10000 test, d = 784; H = %d, PCD-1, "
          "lr 0.05, batch 100, %d epochs, %d threads" % (a.hidden, a.epochs, a.threads))
    blas_kernel.report({"rbm_cd": exe}, peers=("numpy", "scikit-learn"))
    # ---- rbm_cd
    out = os.path.join(tmp, "rbm")
    cmd = [exe] + common + ["--epochs", str(a.epochs), "--test", test, "-o", out, train]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.time() - t0
    if r.returncode:
        sys.exit("rbm_cd failed: " + r.stderr)
    s = read_tsv(out + ".summary.tsv")
    tr = read_trace(out + ".trace.dat")
    upd = float(s["update_seconds"]) / a.epochs
    mon = float(s["seconds"]) / a.epochs
    print("rbm_cd        %8.3f s/epoch (updates)  %8.3f s/epoch (with monitoring)  "
          "run %.1f s (AIS %.1f s)" % (upd, mon, wall, float(s["eval_seconds"])))
    print("rbm_cd        test log-likelihood %.3f +- %.3f nats (AIS, %d runs x %d steps); "
          "pseudo-LL %.2f" % (float(s["ll_test"]), float(s["ll_test_se"]), a.ais_runs,
                              a.ais_steps, tr[-1]["pseudo_ll"]))

    # ---- scikit-learn
    X = load_idx_images(train)
    Xb = (X / 255.0 > 0.5)
    dtypes = ["float64", "float32"] if a.sklearn_dtype == "both" else [a.sklearn_dtype]
    rows = []
    for dt in dtypes:
        Xd = Xb.astype(dt)
        rbm = BernoulliRBM(n_components=a.hidden, learning_rate=0.05, batch_size=100,
                           n_iter=a.epochs, random_state=1)
        with threadpool_limits(limits=a.threads):
            t0 = time.time()
            rbm.fit(Xd)
            sk = (time.time() - t0) / a.epochs
        rows.append((dt, sk, rbm))
        print("scikit-learn  %8.3f s/epoch (%s input)" % (sk, dt))
    for dt, sk, _ in rows:
        print("ratio rbm_cd / scikit-learn (%s): %.3f updates only, %.3f with monitoring "
              "(target <= 0.333)" % (dt, upd / sk, mon / sk))

    if a.score_sklearn:
        dt, sk, rbm = rows[0]
        n = Xb.shape[0]
        p = (Xb.sum(0) + 1.0) / (n + 2.0)
        base = np.log(p) - np.log1p(-p)
        mpath = os.path.join(tmp, "sklearn.model")
        write_model(mpath, rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_, base)
        cmd = [exe, "--load", mpath, "--test", test, "--threads", str(a.threads), "--ais-runs",
               str(a.ais_runs), "--ais-steps", str(a.ais_steps), "--n-samples", "0", "--seed", "1",
               "-q", "-o", os.path.join(tmp, "sk")]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            print("scoring scikit-learn's model failed: " + r.stderr.strip())
        else:
            s2 = read_tsv(os.path.join(tmp, "sk.summary.tsv"))
            print("scikit-learn  test log-likelihood %.3f +- %.3f nats (%s fit, scored by "
                  "rbm_cd's AIS)" % (float(s2["ll_test"]), float(s2["ll_test_se"]), dt))
    print("files in", tmp)


if __name__ == "__main__":
    main()
