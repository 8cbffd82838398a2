#!/usr/bin/python3
"""bench_vae.py -- nlgm_vae against PyTorch on the PyTorch example's VAE.

Both train, in this one run, on the same machine with the same thread count,
the configuration of the PyTorch "examples/vae" program (the lectures' slides):
784-400-20(x2)-400-784, ReLU, Bernoulli likelihood on grey levels in [0, 1]
(BCE summed over pixels and batch), analytic KL, Adam lr 1e-3, batch 128, one
z per image, 10 epochs, on Fashion-MNIST (60000 training, 10000 test images).

PyTorch side: the images are read from the IDX files into one float32 tensor
(uint8 / 255, no torchvision); every epoch draws a random permutation
(torch.randperm) and takes consecutive slices of 128 rows of it, the last one
shorter -- what DataLoader(shuffle=True, batch_size=128) does, without its
worker and collation overhead.  The timed part of an epoch is the training
loop (forward, backward, Adam step) only; the test loss is computed after it,
as the example's test() does (one z per image, loss summed / 10000).

nlgm_vae side: the same data through common/'s IDX reader; seconds per epoch
are the `train_seconds` increments of its trace (minibatch steps only, the
test evaluation excluded), the test loss is the trace's loss_test.

Also printed: the GEMM work of one training step (forward + backward,
counted below), the GFLOP/s each program achieves on it, and what this
machine's SGEMM reaches on the step's shapes and on a large square product
(numpy float32 matmul, which calls the same OpenBLAS library).  All three run
the same OpenBLAS kernel (blas_kernel.py: the one nlgm_vae runs; PyTorch's
GEMMs go through Debian's libblas.so.3, i.e. OpenBLAS), printed at the start.

Usage: /usr/bin/python3 bench/bench_vae.py [--bin build/bin/nlgm_vae]
       [--threads 2] [--epochs 10] [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import time

import blas_kernel

D, H, K, BATCH = 784, 400, 20, 128


def read_idx_images(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        buf = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", buf[:16])
    if magic != 0x803:
        sys.exit(f"{path}: not an IDX image file")
    x = np.frombuffer(buf, dtype=np.uint8, offset=16).reshape(n, rows * cols)
    return x.astype(np.float32) / np.float32(255.0)


def step_flops():
    """GEMM flops of one training step, per image: forward (encoder layer,
    both heads, decoder layer, output layer), weight gradients of the same
    four products, and input gradients of all but the first layer."""
    fwd = 2 * (D * H + H * 2 * K + K * H + H * D)
    wgrad = fwd
    igrad = 2 * (H * D + H * K + 2 * K * H)
    return fwd + wgrad + igrad


def sgemm_gflops(threads):
    import numpy as np  # OPENBLAS_NUM_THREADS is set before numpy loads OpenBLAS
    out = {}
    rng = np.random.default_rng(0)
    for (m, k, n) in [(BATCH, D, H), (BATCH, H, D), (H, BATCH, D), (2000, 2000, 2000)]:
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        a @ b
        reps = max(5, int(4e10 / (2 * m * n * k)))
        best = 0.0
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                a @ b
            dt = time.perf_counter() - t
            best = max(best, 2.0 * m * n * k * reps / dt / 1e9)
        out[(m, k, n)] = best
    return out


def run_torch(xtr, xte, epochs, threads, seed):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    xtr = torch.from_numpy(xtr)
    xte = torch.from_numpy(xte)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = xtr.shape[0]
    times, tests = [], []
    for ep in range(1, epochs + 1):
        model.train()
        t = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, BATCH):
            data = xtr[perm[i:i + BATCH]]
            opt.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
        model.eval()
        tl = 0.0
        with torch.no_grad():
            for i in range(0, xte.shape[0], BATCH):
                data = xte[i:i + BATCH]
                recon, mu, logvar = model(data)
                tl += loss_function(recon, data, mu, logvar).item()
        tests.append(tl / xte.shape[0])
        print(f"  pytorch  epoch {ep:2d}  {times[-1]:6.2f} s  test loss {tests[-1]:.4f}",
              flush=True)
    return times, tests


def run_nlgm(binary, train_path, test_path, epochs, threads, seed):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "vae")
        cmd = [binary, train_path, "--test", test_path, "--epochs", str(epochs),
               "--threads", str(threads), "--seed", str(seed), "-o", prefix]
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
    tests = [r["loss_test"] for r in rows]
    return times, tests, summary, wall


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("BIN", os.path.join(here, "..", "build", "bin")), "nlgm_vae"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    train_path = os.path.join(a.data, "train-images-idx3-ubyte.gz")
    test_path = os.path.join(a.data, "t10k-images-idx3-ubyte.gz")
    for p in (a.bin, train_path, test_path):
        if not os.path.exists(p):
            sys.exit(f"bench_vae: {p}: not found")
    blas_kernel.align(a.bin)
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)

    print(f"VAE 784-400-20, Bernoulli, Adam 1e-3, batch {BATCH}, {a.epochs} epochs, "
          f"Fashion-MNIST, {a.threads} threads")
    blas_kernel.report({"nlgm_vae": a.bin}, peers=("numpy", "pytorch"))
    print("nlgm_vae:", flush=True)
    c_times, c_tests, summary, c_wall = run_nlgm(a.bin, train_path, test_path, a.epochs,
                                                 a.threads, a.seed)
    print("pytorch:", flush=True)
    xtr, xte = read_idx_images(train_path), read_idx_images(test_path)
    t_times, t_tests = run_torch(xtr, xte, a.epochs, a.threads, a.seed)
    sg = sgemm_gflops(a.threads)

    n = xtr.shape[0]
    fl = step_flops() * n / 1e9  # GFLOP of GEMM work per epoch
    # the first epoch pays one-off costs in both; report the mean of the others too
    def mean(v):
        return sum(v) / len(v)
    c_ep, t_ep = mean(c_times), mean(t_times)
    c_ep2 = mean(c_times[1:]) if len(c_times) > 1 else c_ep
    t_ep2 = mean(t_times[1:]) if len(t_times) > 1 else t_ep
    print()
    print(f"{'':24s}{'nlgm_vae':>12s}{'pytorch':>12s}{'ratio':>10s}")
    print(f"{'seconds / epoch':24s}{c_ep:12.3f}{t_ep:12.3f}{c_ep / t_ep:10.3f}")
    print(f"{'  (epochs 2..)':24s}{c_ep2:12.3f}{t_ep2:12.3f}{c_ep2 / t_ep2:10.3f}")
    # on a shared machine the load drifts between the two runs: the fastest
    # epoch of each is the least disturbed measurement
    c_min, t_min = min(c_times), min(t_times)
    print(f"{'  (fastest epoch)':24s}{c_min:12.3f}{t_min:12.3f}{c_min / t_min:10.3f}")
    print(f"{'test loss, last epoch':24s}{c_tests[-1]:12.4f}{t_tests[-1]:12.4f}"
          f"{c_tests[-1] - t_tests[-1]:+10.4f}")
    print(f"{'GEMM GFLOP/s achieved':24s}{fl / c_ep:12.1f}{fl / t_ep:12.1f}")
    print(f"{'  (fastest epoch)':24s}{fl / c_min:12.1f}{fl / t_min:12.1f}")
    print(f"training step: {step_flops() / 1e6:.3f} MFLOP of GEMMs per image, "
          f"{fl:.1f} GFLOP per epoch")
    print(f"machine SGEMM (numpy float32 @ OpenBLAS, {a.threads} threads): "
          + ", ".join(f"{m}x{k}x{nn} {g:.1f}" for (m, k, nn), g in sg.items()) + " GFLOP/s")
    print(f"nlgm_vae: final test ELBO {float(summary['elbo_test']):.4f}, "
          f"log-likelihood ({summary['method']}) {float(summary['ll_test']):.4f} nats; "
          f"whole run {c_wall:.1f} s (data loading and evaluation included)")
    ok_speed = c_ep <= t_ep / 4
    ok_loss = abs(c_tests[-1] - t_tests[-1]) <= 1.0
    print(f"target: <= 1/4 of PyTorch's seconds per epoch: {'met' if ok_speed else 'MISSED'}; "
          f"test loss within 1 nat of PyTorch's: {'met' if ok_loss else 'MISSED'}")


if __name__ == "__main__":
    main()
