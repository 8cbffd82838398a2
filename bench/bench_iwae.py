#!/usr/bin/python3
"""bench_iwae.py -- nlgm_vae against PyTorch on the VAE and the IWAE bound.

Both sides train, in this one run, on the same machine with the same thread
count: 784-400-20(x2)-400-784, ReLU, Bernoulli likelihood on Fashion-MNIST
binarised dynamically (a new draw x ~ Bernoulli(grey level) each time an
image is used, Burda et al.), Adam lr 1e-3, batch 128, 10 epochs; once on
the ELBO (K = 1, analytic KL) and once on the importance-weighted bound with
K = 5 (Burda, Grosse and Salakhutdinov 2015).  Each model is then scored on
the same 2000 test images, binarised once here (numpy, seed 0) and given to
both sides as the same binary values: the importance-weighted estimate of
log p(x) with K = 1000 samples, in nats per image.

PyTorch side (the models as a PyTorch user writes them): the images in one
float32 tensor (uint8 / 255), every epoch a random permutation
(torch.randperm) cut into slices of 128 rows, torch.bernoulli for the
binarisation; the ELBO with the example's analytic KL, BCE on the logits;
the IWAE loss -mean_i [logsumexp_l log w_il - log K], its gradient through
the normalised weights by autograd.  (nlgm_vae estimates the same bound as
ELBO + (logsumexp - log K - mean_l log w), the analytic KL as a control
variate: docs/vae.md, "The IWAE bound"; the expectation is the same.)  The
timed part of an epoch is the training loop only.

nlgm_vae side: the same data through common/'s IDX reader, --binarize
dynamic; seconds per epoch are the `train_seconds` increments of its trace
(minibatch steps only), the test log-likelihood its summary's ll_test
(--iw 1000).  Both sides run the same OpenBLAS kernel (blas_kernel.py),
printed at the start.

--threads sets both sides' threads (OpenBLAS's, PyTorch's intra-op pool).
On a loaded machine two-thread PyTorch steps slow down many times over (its
pool and OpenBLAS's threads spin against the other jobs), and so, less, do
two-thread nlgm_vae steps: there --threads 1 measures the programs, not the
load (docs/vae.md, the speed paragraphs of "Implementation").

Targets: nlgm_vae's seconds per epoch <= 1/4 of PyTorch's for each model;
test log-likelihood within 1 nat of PyTorch's; the IWAE's above the VAE's.

Usage: /usr/bin/python3 bench/bench_iwae.py [--bin build/bin/nlgm_vae]
       [--threads 2] [--epochs 10] [--samples 5] [--test-rows 2000] [--iw 1000]
       [--data /usr/share/datasets/fashion-mnist]
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
from bench_vae import read_idx_images

D, H, Z, BATCH = 784, 400, 20, 128


def write_idx_images(path, x01):
    """x01 (n, 784) of 0/1 -> an IDX image file of bytes 0/255 (28 x 28)."""
    import numpy as np
    n = x01.shape[0]
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write((x01 * 255).astype(np.uint8).tobytes())


def run_nlgm(binary, train_path, test_path, args, samples):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "vae")
        cmd = [binary, train_path, "--test", test_path, "--binarize", "dynamic",
               "--epochs", str(args.epochs), "--iw", str(args.iw), "--iw-train-rows", "100",
               "--threads", str(args.threads), "--seed", str(args.seed), "-o", prefix]
        if samples > 1:
            cmd += ["--objective", "iwae", "--samples", str(samples)]
        print("  $ " + " ".join(cmd), flush=True)
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"nlgm_vae failed: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            print("  nlgm_vae " + line, flush=True)
        with open(prefix + ".trace.dat") as f:
            names = f.readline()[2:].split()
            rows = [dict(zip(names, map(float, l.split()))) for l in f if l.strip()]
        with open(prefix + ".summary.tsv") as f:
            sn = f.readline()[2:].rstrip("\n").split("\t")
            summary = dict(zip(sn, f.readline().rstrip("\n").split("\t")))
    cum = [r["train_seconds"] for r in rows]
    times = [cum[0]] + [b - a for a, b in zip(cum, cum[1:])]
    return times, float(summary["ll_test"]), float(summary["ll_test_se"]), wall


def run_torch(xtr, xte01, args, samples):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(D, H)
            self.fc21 = nn.Linear(H, Z)
            self.fc22 = nn.Linear(H, Z)
            self.fc3 = nn.Linear(Z, H)
            self.fc4 = nn.Linear(H, D)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def logits(self, z):
            return self.fc4(F.relu(self.fc3(z)))

        def log_w(self, x, k):
            """(k, m) log p(x|z) + log p(z) - log q(z|x), z ~ q(z|x)."""
            mu, logvar = self.encode(x)
            std = torch.exp(0.5 * logvar)
            eps = torch.randn((k,) + mu.shape)
            z = mu + eps * std
            a = self.logits(z)
            logpx = -F.binary_cross_entropy_with_logits(
                a, x.expand_as(a), reduction="none").sum(-1)
            # log N(z; 0, I) - log N(z; mu, std^2): the constants cancel
            return logpx - 0.5 * (z * z - eps * eps - logvar).sum(-1)

    def elbo_loss(model, x):
        mu, logvar = model.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        bce = F.binary_cross_entropy_with_logits(model.logits(z), x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    def iwae_loss(model, x, k):
        lw = model.log_w(x, k)
        return -(torch.logsumexp(lw, 0) - math.log(k)).sum()

    xtr = torch.from_numpy(xtr)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = xtr.shape[0]
    times = []
    for ep in range(1, args.epochs + 1):
        model.train()
        t = time.perf_counter()
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, BATCH):
            data = torch.bernoulli(xtr[perm[i:i + BATCH]])
            opt.zero_grad()
            loss = elbo_loss(model, data) if samples == 1 else iwae_loss(model, data, samples)
            loss.backward()
            opt.step()
            total += loss.item()
        times.append(time.perf_counter() - t)
        print(f"  pytorch  epoch {ep:2d}  {times[-1]:6.2f} s  train loss {total / n:.4f}",
              flush=True)
    # the importance-weighted estimate on the fixed binary test images
    model.eval()
    xte = torch.from_numpy(xte01)
    ll, var = [], []
    with torch.no_grad():
        rows = max(1, 20000 // args.iw)
        for i in range(0, xte.shape[0], rows):
            lw = model.log_w(xte[i:i + rows], args.iw).double()
            lse = torch.logsumexp(lw, 0)
            ll.append(lse - math.log(args.iw))
            # delta-method variance of log mean w: sum w^2 / (sum w)^2 - 1/K
            w = torch.exp(lw - lse)
            var.append((w * w).sum(0) - 1.0 / args.iw)
    ll, var = torch.cat(ll), torch.cat(var)
    return times, ll.mean().item(), math.sqrt(var.clamp(min=0).sum().item()) / ll.shape[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("BIN", os.path.join(here, "..", "build", "bin")), "nlgm_vae"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--test-rows", type=int, default=2000)
    ap.add_argument("--iw", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    train_path = os.path.join(a.data, "train-images-idx3-ubyte.gz")
    test_path = os.path.join(a.data, "t10k-images-idx3-ubyte.gz")
    for p in (a.bin, train_path, test_path):
        if not os.path.exists(p):
            sys.exit(f"bench_iwae: {p}: not found")
    blas_kernel.align(a.bin)
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    import numpy as np

    print(f"VAE and IWAE (K = {a.samples}) 784-400-20, Bernoulli, dynamic binarisation, "
          f"Adam 1e-3, batch {BATCH}, {a.epochs} epochs, Fashion-MNIST, {a.threads} threads; "
          f"test log-likelihood IW K = {a.iw} on {a.test_rows} test images")
    blas_kernel.report({"nlgm_vae": a.bin}, peers=("pytorch",))
    xtr = read_idx_images(train_path)
    xte = read_idx_images(test_path)[:a.test_rows]
    # the test images binarised once, the same values for both sides
    xte01 = (np.random.default_rng(0).random(xte.shape, dtype=np.float32) < xte).astype(np.float32)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        t2000 = os.path.join(tmp, f"t{a.test_rows}-images-idx3-ubyte.gz")
        write_idx_images(t2000, xte01)
        for name, k in (("VAE (K = 1)", 1), (f"IWAE (K = {a.samples})", a.samples)):
            print(f"nlgm_vae, {name}:", flush=True)
            c_times, c_ll, c_se, c_wall = run_nlgm(a.bin, train_path, t2000, a, k)
            print(f"pytorch, {name}:", flush=True)
            t_times, t_ll, t_se = run_torch(xtr, xte01, a, k)
            res[name] = (c_times, c_ll, c_se, t_times, t_ll, t_se)

    def mean(v):
        return sum(v) / len(v)
    print()
    print(f"{'':24s}{'nlgm_vae':>14s}{'pytorch':>14s}{'ratio / diff':>14s}")
    ok_speed = ok_ll = True
    for name, (c_times, c_ll, c_se, t_times, t_ll, t_se) in res.items():
        c_ep, t_ep = mean(c_times), mean(t_times)
        c_min, t_min = min(c_times), min(t_times)
        print(f"{name}")
        print(f"{'  seconds / epoch':24s}{c_ep:14.3f}{t_ep:14.3f}{c_ep / t_ep:14.3f}")
        print(f"{'    (fastest epoch)':24s}{c_min:14.3f}{t_min:14.3f}{c_min / t_min:14.3f}")
        print(f"{'  test ll, nats':24s}{c_ll:14.4f}{t_ll:14.4f}{c_ll - t_ll:+14.4f}")
        print(f"{'    (Monte-Carlo SE)':24s}{c_se:14.4f}{t_se:14.4f}")
        ok_speed &= c_ep <= t_ep / 4
        ok_ll &= abs(c_ll - t_ll) <= 1.0
    names = list(res)
    gain_c = res[names[1]][1] - res[names[0]][1]
    gain_t = res[names[1]][4] - res[names[0]][4]
    print(f"IWAE - VAE, test ll: nlgm_vae {gain_c:+.4f}, pytorch {gain_t:+.4f} nats")
    print(f"targets: <= 1/4 of PyTorch's seconds per epoch: {'met' if ok_speed else 'MISSED'}; "
          f"test ll within 1 nat of PyTorch's: {'met' if ok_ll else 'MISSED'}; "
          f"IWAE above the VAE: {'met' if gain_c > 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
