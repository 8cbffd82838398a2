#!/usr/bin/python3
"""bench_m2.py -- nlgm_cvae's semi-supervised M1 and M2 on Fashion-MNIST, and M2
against PyTorch.

In this one run, on the same machine with the same thread count:

1. nlgm_cvae --semi-supervised (M2) and --m1 (M1) with 100 labels (10 a class)
   and with 1000, on the 60000 training images (the rest unlabelled) and the
   10000 test images: test accuracy of M2's q(y|x) and of M1's regression on
   the posterior means, beside the same logistic regression on the pixels of
   the same labelled rows (the program's baseline, acc_raw_test); seconds per
   epoch (the trace's train_seconds increments: minibatch steps only).
2. PyTorch (Debian's python3-torch) training the same M2 -- the same
   network, objective, minibatches and Adam -- for a few epochs: seconds per
   epoch, and its test accuracy after them.  With --torch-steps S an epoch
   stops after its first S minibatch steps and its seconds are scaled to the
   whole epoch (599 steps of 100 unlabelled rows): on a 2-core machine a full
   PyTorch epoch takes many minutes.  Written the usual way, with the
   one-hot label concatenated to x and to z ("cat"; every unlabelled row
   repeated for the C classes), and the way nlgm_cvae computes it ("shared":
   the encoder's first product of x made once, the label adding a class row),
   so that the ratio of each can be read.

The model: Bernoulli likelihood on the grey levels in [0, 1] (as the PyTorch
VAE example), encoder 784-400-(20, 20), decoder (20 + 10)-400-784, classifier
784-400-10, ReLU, Adam 1e-3, minibatches of 100 unlabelled and min(100, n_l)
labelled rows, alpha = 0.1 x 60000 on each labelled row's -log q(y|x)
(docs/vae_labels.md, "Training M2").

Usage: /usr/bin/python3 bench/bench_m2.py [--bin build/bin/nlgm_cvae]
       [--threads 2] [--epochs 10] [--m1-epochs 10] [--torch-epochs 2]
       [--torch-steps 0] [--iw 10] [--iw-train-rows 1000]
       [--labels 100,1000] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

import blas_kernel

D, H, K, C, BATCH = 784, 400, 20, 10, 100


def read_idx(path, images):
    import numpy as np
    with gzip.open(path, "rb") as f:
        buf = f.read()
    if images:
        magic, n, rows, cols = struct.unpack(">IIII", buf[:16])
        if magic != 0x803:
            sys.exit(f"{path}: not an IDX image file")
        x = np.frombuffer(buf, dtype=np.uint8, offset=16).reshape(n, rows * cols)
        return x.astype(np.float32) / np.float32(255.0)
    magic, n = struct.unpack(">II", buf[:8])
    if magic != 0x801:
        sys.exit(f"{path}: not an IDX label file")
    return np.frombuffer(buf, dtype=np.uint8, offset=8).astype(np.int64)


def run_ours(binary, train, test, mode, n_labels, epochs, threads, seed, iw, iw_rows):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "m")
        cmd = [binary, train, "--test", test, mode, "--n-labels", str(n_labels),
               "--epochs", str(epochs), "--batch", str(BATCH), "-k", str(K),
               "--hidden", str(H), "--iw", str(iw), "--iw-train-rows", str(iw_rows),
               "--threads", str(threads), "--seed", str(seed), "-o", prefix]
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"nlgm_cvae failed: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            print("  nlgm_cvae " + line, flush=True)
        with open(prefix + ".trace.dat") as f:
            names = f.readline()[2:].split()
            rows = [dict(zip(names, map(float, l.split()))) for l in f if l.strip()]
        with open(prefix + ".summary.tsv") as f:
            sn = f.readline()[2:].rstrip("\n").split("\t")
            summary = dict(zip(sn, f.readline().rstrip("\n").split("\t")))
    cum = [r["train_seconds"] for r in rows]
    times = [cum[0]] + [b - a for a, b in zip(cum, cum[1:])]
    return times, summary, wall


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def balanced_rows(y, n_labels, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(C):
        idx = np.flatnonzero(y == c)
        keep.extend(rng.choice(idx, n_labels // C, replace=False))
    return np.array(sorted(keep))


def run_torch(xtr, ytr, xte, yte, n_labels, epochs, steps, threads, seed, variant):
    """PyTorch's M2: seconds per epoch and test accuracy after each epoch; with
    steps > 0 an epoch stops after that many minibatch steps and its seconds
    are scaled to the whole epoch's steps"""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    n = xtr.shape[0]
    lab = balanced_rows(ytr, n_labels, seed)
    unl = np.setdiff1d(np.arange(n), lab)
    n_l, n_u = len(lab), len(unl)
    alpha = 0.1 * n
    logC = math.log(C)

    class M2(nn.Module):
        def __init__(self):
            super().__init__()
            if variant == "cat":
                self.enc1 = nn.Linear(D + C, H)
                self.dec1 = nn.Linear(K + C, H)
            else:
                self.enc1 = nn.Linear(D, H)
                self.enc1y = nn.Linear(C, H, bias=False)   # the class rows
                self.dec1 = nn.Linear(K, H)
                self.dec1y = nn.Linear(C, H, bias=False)
            self.mu = nn.Linear(H, K)
            self.lv = nn.Linear(H, K)
            self.out = nn.Linear(H, D)
            self.cls1 = nn.Linear(D, H)
            self.cls2 = nn.Linear(H, C)

        def classify(self, x):
            return self.cls2(F.relu(self.cls1(x)))

        def loss_rows(self, x, y1h, reps):
            """L(x, y) per row of the (reps x rows) expansion: x (m, D) is
            repeated reps times, y1h (reps m, C)"""
            if variant == "cat":
                xr = x.repeat(reps, 1)
                h = F.relu(self.enc1(torch.cat([xr, y1h], 1)))
            else:
                xr = x.repeat(reps, 1)
                h = F.relu(self.enc1(x).repeat(reps, 1) + self.enc1y(y1h))
            mu, lv = self.mu(h), self.lv(h)
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            if variant == "cat":
                g = F.relu(self.dec1(torch.cat([z, y1h], 1)))
            else:
                g = F.relu(self.dec1(z) + self.dec1y(y1h))
            logits = self.out(g)
            rec = F.binary_cross_entropy_with_logits(logits, xr, reduction="none").sum(1)
            kl = -0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(1)
            return rec + kl

    xtr_t = torch.from_numpy(xtr)
    ytr_t = torch.from_numpy(ytr)
    eye = torch.eye(C)
    model = M2()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lab_t, unl_t = torch.from_numpy(lab), torch.from_numpy(unl)
    ml = min(BATCH, n_l)
    times = []
    pos_l, perm_l = n_l, None
    for ep in range(1, epochs + 1):
        model.train()
        t = time.perf_counter()
        perm = unl_t[torch.randperm(n_u)]
        starts = range(0, n_u, BATCH)
        if steps > 0:
            starts = starts[:steps]
        for i in starts:
            xu = xtr_t[perm[i:i + BATCH]]
            mu_ = xu.shape[0]
            if pos_l + ml > n_l:
                perm_l, pos_l = lab_t[torch.randperm(n_l)], 0
            bl = perm_l[pos_l:pos_l + ml]
            pos_l += ml
            xl, yl = xtr_t[bl], ytr_t[bl]
            opt.zero_grad()
            # unlabelled: U(x) = sum_y q(y|x) [L(x, y) + log C + log q(y|x)]
            yr = eye.repeat_interleave(mu_, 0)            # row c mu + i: class c
            Lr = model.loss_rows(xu, yr, C).view(C, mu_).t()
            logq = F.log_softmax(model.classify(xu), 1)
            U = (logq.exp() * (Lr + logC + logq)).sum(1)
            # labelled: L(x, y) + log C + alpha (-log q(y|x))
            Ll = model.loss_rows(xl, eye[yl], 1) + logC
            ce = F.cross_entropy(model.classify(xl), yl, reduction="none")
            wl = (n_l * mu_) / (n_u * ml)
            loss = U.sum() + wl * (Ll + alpha * ce).sum()
            loss.backward()
            opt.step()
        times.append((time.perf_counter() - t) * len(range(0, n_u, BATCH)) / len(starts))
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model.classify(torch.from_numpy(xte[i:i + 2000])).argmax(1)
                              for i in range(0, xte.shape[0], 2000)])
        acc = (pred.numpy() == yte).mean()
        done = "" if len(starts) == len(range(0, n_u, BATCH)) else \
            f" (from its first {len(starts)} of {len(range(0, n_u, BATCH))} steps)"
        print(f"  pytorch ({variant})  epoch {ep}  {times[-1]:7.2f} s{done}  test accuracy "
              f"{100 * acc:.2f} %", flush=True)
    return times, acc


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("BIN", os.path.join(here, "..", "build", "bin")), "nlgm_cvae"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", default="10",
                    help="M2's epochs, one number for all --labels or one for each")
    ap.add_argument("--m1-epochs", type=int, default=10)
    ap.add_argument("--torch-epochs", type=int, default=2)
    ap.add_argument("--torch-steps", type=int, default=0,
                    help="PyTorch: minibatch steps an epoch, scaled to a whole epoch (0: all)")
    ap.add_argument("--iw", type=int, default=10)
    ap.add_argument("--iw-train-rows", type=int, default=1000)
    ap.add_argument("--labels", default="100,1000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    paths = {s: os.path.join(a.data, f"{s}-idx{3 if 'images' in s else 1}-ubyte.gz")
             for s in ("train-images", "train-labels", "t10k-images", "t10k-labels")}
    for p in [a.bin] + list(paths.values()):
        if not os.path.exists(p):
            sys.exit(f"bench_m2: {p}: not found")
    blas_kernel.align(a.bin)
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    labels = [int(s) for s in a.labels.split(",")]
    m2_epochs = [int(s) for s in a.epochs.split(",")]
    m2_epochs = dict(zip(labels, m2_epochs if len(m2_epochs) == len(labels)
                         else m2_epochs[:1] * len(labels)))

    print(f"M2 and M1 on Fashion-MNIST: Bernoulli on grey levels, {D}-{H}-{K}, classifier "
          f"{D}-{H}-{C}, Adam 1e-3, batch {BATCH}, {a.threads} threads", flush=True)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores", flush=True)
    blas_kernel.report({"nlgm_cvae": a.bin}, peers=("pytorch",))
    res = {}

    def ours(mode, nl, ep):
        print(f"--- nlgm_cvae {mode} --n-labels {nl}, {ep} epochs", flush=True)
        res[(mode, nl)] = run_ours(a.bin, paths["train-images"], paths["t10k-images"],
                                   mode, nl, ep, a.threads, a.seed, a.iw, a.iw_train_rows)

    # the two M2s timed one right after the other (the machine's load drifts)
    ours("--semi-supervised", labels[0], m2_epochs[labels[0]])
    xtr = read_idx(paths["train-images"], True)
    ytr = read_idx(paths["train-labels"], False)
    xte = read_idx(paths["t10k-images"], True)
    yte = read_idx(paths["t10k-labels"], False)
    torch_res = {}
    for variant in ("cat", "shared"):
        print(f"--- PyTorch M2 ({variant}), --n-labels {labels[0]}, {a.torch_epochs} epochs"
              + (f" of {a.torch_steps} steps" if a.torch_steps > 0 else ""), flush=True)
        torch_res[variant] = run_torch(xtr, ytr, xte, yte, labels[0], a.torch_epochs, a.torch_steps,
                                       a.threads, a.seed, variant)
    ours("--m1", labels[0], a.m1_epochs)
    for nl in labels[1:]:
        ours("--semi-supervised", nl, m2_epochs[nl])
        ours("--m1", nl, a.m1_epochs)

    print("\n=== accuracy on the 10000 test images (%)")
    print(f"{'labels':>6}  {'M2':>7}  {'M1':>7}  {'pixels':>7}  {'M2 - pixels':>11}  "
          f"{'M2 s/epoch':>10}  {'M1 s/epoch':>10}")
    for nl in labels:
        t2, s2, _ = res[("--semi-supervised", nl)]
        t1, s1, _ = res[("--m1", nl)]
        a2, a1 = float(s2["acc_test"]), float(s1["acc_test"])
        raw = float(s2["acc_raw_test"])
        print(f"{nl:>6}  {100 * a2:7.2f}  {100 * a1:7.2f}  {100 * raw:7.2f}  "
              f"{100 * (a2 - raw):+11.2f}  {sum(t2) / len(t2):10.2f}  {sum(t1) / len(t1):10.2f}")
    t2 = res[("--semi-supervised", labels[0])][0]
    after = (f"{a.torch_steps} steps" if a.torch_steps > 0 else f"{a.torch_epochs} epochs")
    ours_mean, ours_min = sum(t2) / len(t2), min(t2)
    print(f"\n=== M2 seconds per epoch ({labels[0]} labels; {len(t2)} epochs of nlgm_cvae, "
          f"{after} of PyTorch)")
    print(f"{'':>16}  {'mean':>8}  {'fastest':>8}  {'ratio (mean)':>12}  {'ratio (fastest)':>15}")
    print(f"{'nlgm_cvae':>16}  {ours_mean:8.2f}  {ours_min:8.2f}")
    for variant, (tt, acc) in torch_res.items():
        m, f = sum(tt) / len(tt), min(tt)
        print(f"{'PyTorch ' + variant:>16}  {m:8.2f}  {f:8.2f}  {ours_mean / m:12.3f}  "
              f"{ours_min / f:15.3f}   (test accuracy after {after}: {100 * acc:.2f} %)")

    s2 = res[("--semi-supervised", labels[0])][1]
    gain = 100 * (float(s2["acc_test"]) - float(s2["acc_raw_test"]))
    cat = torch_res["cat"][0]
    ratio = ours_mean / (sum(cat) / len(cat))
    print(f"\ntarget: M2 >= pixels + 10 points with {labels[0]} labels: "
          f"{'met' if gain >= 10 - 1e-9 else 'MISSED'} ({gain:+.2f} points after {m2_epochs[labels[0]]} epochs)")
    print(f"target: M2 <= 1/4 of PyTorch's (cat) seconds per epoch: "
          f"{'met' if ratio <= 0.25 else 'MISSED'} (ratio {ratio:.3f})")


if __name__ == "__main__":
    main()
