#!/usr/bin/python3
"""bench_rbm.py -- rbm_cd against scikit-learn's BernoulliRBM, in one run.

Both train an RBM with 500 hidden units by PCD-1 (persistent chains, one
Gibbs sweep an update), a constant learning rate 0.05 (rbm_cd: --lr-decay
none), minibatches of 100, no momentum and no weight decay, on
Fashion-MNIST binarised at 0.5 (pixel/255 > 0.5),
for the same number of epochs (default 10) on the same number of threads.
The update rules match: scikit-learn's BernoulliRBM._fit uses p(h|v) of the
data and of the chains' visible samples, the chains' sampled visible states,
and the learning rate divided by the batch size, which is rbm_cd's update
(rbm_cd_step) with momentum 0 and weight decay 0.

Both run the same OpenBLAS kernel (blas_kernel.py: the one rbm_cd runs),
printed at the start with the CPU.  Printed:
  - seconds per epoch of each (rbm_cd's parameter updates alone, and with
    its per-epoch monitoring; scikit-learn with float64 and float32 input);
  - the test log-likelihood bracket of both models, [reverse AIS, AIS]
    (stochastic lower and upper bounds, rbm_cd's --ais-runs x --ais-steps
    and --raise-rows x --raise-steps): scikit-learn's fit is written as an
    rbm_cd model file and scored by the same code (rbm_cd --load);
  - the achieved GFLOP/s of rbm_cd's update -- the 2 d H (2 M + 3 M_c)
    flops of the sgemms of a PCD-1 update (M rows, M_c chains: p(h | .) of
    rows and chains, p(v | h) of the chains, the update P^T V) over the
    update seconds -- next to the SGEMM rate of the same OpenBLAS measured
    in the same run: 2-thread sgemm on 2048 x 2048 matrices (the machine's
    rate), and the update's own GEMM shapes, one thread each on its half of
    the rows as rbm_cd runs them; and the update's seconds split into its
    sgemms (its flops at the rate of those shapes) and the rest;
  - the load average at the start and the end (the machine may be shared).

Run:  /usr/bin/python3 bench/bench_rbm.py [--epochs 10] [--threads 2]
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


def cpu_name():
    """The CPU's model name and its widest vector instructions."""
    name, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name == "?":
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vec = [v for v in ("avx512f", "avx2", "fma", "avx") if v in flags]
    return "%s (%s), %d cores" % (name, ", ".join(vec) or "no AVX", os.cpu_count() or 0)


def sgemm_rate(m, n, k, threads, transa=False, transb=False, reps=None):
    """GFLOP/s of numpy's float32 matmul (OpenBLAS sgemm) C(m, n) = op(A) op(B)
    on `threads` BLAS threads: the best of several timed repetitions."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    A = rng.standard_normal((k, m) if transa else (m, k), dtype=np.float32)
    B = rng.standard_normal((n, k) if transb else (k, n), dtype=np.float32)
    a = A.T if transa else A
    b = B.T if transb else B
    flops = 2.0 * m * n * k
    reps = reps or max(3, int(2e10 / flops))
    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b  # warm up
        for _ in range(reps):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def update_shapes_rate(d, h, mb, mc, threads, seconds=3.0):
    """The rate of the sgemms of PCD-1 updates as rbm_cd runs them: `threads`
    Python threads at once (numpy releases the GIL in matmul), BLAS set to one
    thread, each doing its share of every update: p(h | .) of its data and
    chain rows ((mb + mc) / T x d)(d x h), p(v | h) of its chains
    (mc / T x h)(h x d), its rows of the update (h / T x (mb + mc))(mb + mc x d);
    the flops of all threads over the wall time of `seconds` of updates."""
    import threading
    from threadpoolctl import threadpool_limits
    T = threads
    rng = np.random.default_rng(1)
    W = rng.standard_normal((h, d), dtype=np.float32)

    def work(out, i):
        U = rng.standard_normal(((mb + mc) // T, d), dtype=np.float32)
        H = rng.standard_normal((mc // T, h), dtype=np.float32)
        P = rng.standard_normal((mb + mc, h // T), dtype=np.float32)
        V = rng.standard_normal((mb + mc, d), dtype=np.float32)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            U @ W.T
            H @ W
            P.T @ V
            n += 1
        out[i] = n * 2.0 * (U.shape[0] * d * h + H.shape[0] * h * d + P.shape[1] * (mb + mc) * d)

    out = [0.0] * T
    with threadpool_limits(limits=1, user_api="blas"):
        work([0.0], 0)  # warm up (also the allocations)
        th = [threading.Thread(target=work, args=(out, i)) for i in range(T)]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        for t in th:
            t.join()
        wall = time.perf_counter() - t0
    return sum(out) / wall / 1e9


def bracket(s):
    """'lower +- se .. upper +- se' of a summary."""
    return "[%.2f +- %.2f, %.2f +- %.2f]" % (
        float(s["ll_test_lower"]), float(s["ll_test_lower_se"]),
        float(s["ll_test_upper"]), float(s["ll_test_upper_se"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-steps", type=int, default=10000)
    ap.add_argument("--raise-rows", type=int, default=100)
    ap.add_argument("--raise-steps", type=int, default=10000)
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
    score = ["--threads", str(a.threads), "--ais-runs", str(a.ais_runs), "--ais-steps",
             str(a.ais_steps), "--raise-rows", str(a.raise_rows), "--raise-steps",
             str(a.raise_steps), "--n-samples", "0", "--seed", "1"]
    common = ["--hidden", str(a.hidden), "--pcd", "--cd", "1", "--lr", "0.05", "--batch", "100",
              "--momentum", "0", "--lr-decay", "none", "--weight-decay", "0"] + score

    print("Fashion-MNIST binarised at 0.5: 60000 train, 10000 test, d = 784; H = %d, PCD-1, "
          "lr 0.05, batch 100, %d epochs, %d threads" % (a.hidden, a.epochs, a.threads))
    print("CPU: " + cpu_name())
    print("load average at the start: %.1f %.1f %.1f (1, 5, 15 min)" % os.getloadavg())
    blas_kernel.report({"rbm_cd": exe}, peers=("numpy", "scikit-learn"))
    print("test log-likelihood: the bracket [reverse AIS (%d test rows x %d steps), AIS (%d runs "
          "x %d steps)], each end +- its standard error" % (a.raise_rows, a.raise_steps,
                                                             a.ais_runs, a.ais_steps))
    # ---- the machine's SGEMM rate, before and after rbm_cd's training
    d, h, mb = 784, a.hidden, 100
    rate0 = sgemm_rate(2048, 2048, 2048, a.threads)
    shp0 = update_shapes_rate(d, h, mb, mb, a.threads)

    # ---- rbm_cd
    out = os.path.join(tmp, "rbm")
    cmd = [exe] + common + ["--epochs", str(a.epochs), "--test", test, "-o", out, train]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.time() - t0
    if r.returncode:
        sys.exit("rbm_cd failed: " + r.stderr)
    rate1 = sgemm_rate(2048, 2048, 2048, a.threads)
    shp1 = update_shapes_rate(d, h, mb, mb, a.threads)
    s = read_tsv(out + ".summary.tsv")
    upd = float(s["update_seconds"]) / a.epochs
    mon = float(s["seconds"]) / a.epochs
    n_upd = -(-60000 // mb)
    gflop = n_upd * 2.0 * d * h * (2 * mb + 3 * mb) / 1e9  # per epoch
    print("rbm_cd        %8.3f s/epoch (updates)  %8.3f s/epoch (with monitoring)  "
          "run %.1f s (evaluation %.1f s)" % (upd, mon, wall, float(s["eval_seconds"])))
    print("rbm_cd        test log-likelihood bracket %s nats; AIS effective sample size %.1f"
          % (bracket(s), float(s["ais_ess"])))
    sg = max(rate0, rate1)
    print("rbm_cd update %8.1f GFLOP/s (%.1f GFLOP an epoch); SGEMM in this run: %.1f GFLOP/s "
          "(2048^2, %d threads; %.1f before, %.1f after training), %.1f on the update's shapes"
          % (gflop / upd, gflop, sg, a.threads, rate0, rate1, max(shp0, shp1)))
    print("rbm_cd update at %.0f %% of the SGEMM rate (target >= 70 %%), %.0f %% of sgemm on the "
          "update's own shapes" % (100 * gflop / upd / sg, 100 * gflop / upd / max(shp0, shp1)))
    # where the update's time goes: its sgemms at the rate of the same shapes, and the rest
    tg = gflop / max(shp0, shp1)
    print("rbm_cd update: of its %.3f s an epoch, the sgemms at the update shapes' rate take "
          "%.3f s (%.0f %%), the rest (sigmoids, Bernoulli draws, gathers, barriers) %.3f s"
          % (upd, tg, 100 * tg / upd, upd - tg))
    ep = read_trace(out + ".trace.dat")
    sec = [b["seconds"] - a_["seconds"] for a_, b in zip(ep, ep[1:])]
    if sec:
        print("rbm_cd        epochs with monitoring: fastest %.3f s, slowest %.3f s"
              % (min(sec), max(sec)))

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
        cmd = [exe, "--load", mpath, "--test", test] + score + ["-q", "-o", os.path.join(tmp, "sk")]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            print("scoring scikit-learn's model failed: " + r.stderr.strip())
        else:
            s2 = read_tsv(os.path.join(tmp, "sk.summary.tsv"))
            print("scikit-learn  test log-likelihood bracket %s nats (%s fit, scored by rbm_cd's "
                  "AIS and reverse AIS); AIS effective sample size %.1f"
                  % (bracket(s2), dt, float(s2["ais_ess"])))
    print("SGEMM after scikit-learn: %.1f GFLOP/s (2048^2, %d threads)"
          % (sgemm_rate(2048, 2048, 2048, a.threads), a.threads))
    print("load average at the end: %.1f %.1f %.1f (1, 5, 15 min)" % os.getloadavg())
    print("files in", tmp)


if __name__ == "__main__":
    main()
