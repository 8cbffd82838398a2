#!/usr/bin/env bash
# bench/run-all.sh -- every benchmark, one after the other, on Fashion-MNIST
# (Debian package dataset-fashion-mnist) against the peers on this machine:
#   lgm_em vs scikit-learn FactorAnalysis; pca_iter vs numpy cov+eigh
#   nlgm_vae vs PyTorch (the PyTorch example's VAE, 10 epochs)
#   nlgm_vae vs PyTorch, the VAE and the IWAE bound (K = 5) on
#     dynamically binarised images, test ll by IW with K = 1000
#   rbm_cd vs scikit-learn BernoulliRBM (PCD-1, 500 hidden units)
#   the same run's test log-likelihood bracket [reverse AIS, AIS] of
#     both fits, and the update's GFLOP/s against sgemm's
#   gmm_em vs scikit-learn GaussianMixture and R's mclust (K = 10;
#     PCA-50 full covariances, raw pixels diagonal)
#   pca_iter and lgm_em completing 10 % MCAR entries vs R's
#     pcaMethods ppca and bpca (k = 20, a subset of the images)
#   nlgm_cvae's M2 and M1 with 100 and 1000 labels against the
#     pixels' logistic regression; M2 against a PyTorch M2
# BIN: the programs (default build/bin).  Peers run with /usr/bin/python3.
# `make bench` installs what is missing and runs this.  Each script prints its
# own figures and ratios; the machine is shared and noisy, so read the ratios
# measured within one script run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BIN=${BIN:-$here/../build/bin}
py=/usr/bin/python3
# The BLAS kernel: our programs choose the best one for the CPU and say so;
# each script gives its peers the same one and prints every side's
# (bench/blas_kernel.py).
echo "latent-zoo: $("$BIN/lgm_em" --version | sed -n 2p)"
for b in gmm lgm pca vae iwae rbm missing m2; do
  echo "=================== bench_$b.py"
  "$py" "$here/bench_$b.py"
done
