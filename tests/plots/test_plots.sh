#!/usr/bin/env bash
# End-to-end test of plots/*.gp: renders every plot from small fixture files
# written here in the formats of docs/developers.md ("Output files", "Column
# names of the files the plots read"), and checks that each PNG exists, starts
# with the PNG signature and has more than one colour, and that the colours of
# the data cover an area no legend sample could (decoded by gnuplot itself:
# `plot FILE binary filetype=png with rgbimage` into a table, so no tool
# beyond gnuplot and awk is needed).  Also checks the errors: non-square
# d, a missing file, a missing column.  BIN is unused (no program runs).
source "$SRC/tests/lib.sh"
PLOTS="$SRC/plots"
command -v gnuplot >/dev/null || fail "gnuplot is not installed (Debian package gnuplot-nox)"

# ---------------------------------------------------------------- fixtures
# Column layouts are the ones of docs/developers.md; numbers are synthetic
# but shaped like the real ones (log-likelihoods negative, converging).
mkdir -p fx

# traces: exact EM (monotone), sampled EM (noisy, ll_test only every 5th
# iteration: nan gaps), a VAE (-ELBO every epoch, ll_test every 10th epoch,
# ll_train all nan), an RBM (ll_* all nan: pseudo_ll is drawn).
awk 'BEGIN { print "# iter ll_train ll_test seconds"
  for (t = 1; t <= 60; t++)
    printf "%d %.17g %.17g %.17g\n", t, -120 - 40 * exp(-t / 8), -124 - 40 * exp(-t / 8), 0.01 * t }' >fx/lgm-exact.trace.dat
awk 'BEGIN { srand(2); print "# iter ll_train ll_test seconds"
  for (t = 1; t <= 60; t++) {
    tr = -121 - 40 * exp(-t / 8) + 3 * (rand() - 0.5)
    te = (t % 5 == 0) ? sprintf("%.17g", tr - 4) : "nan"
    printf "%d %.17g %s %.17g\n", t, tr, te, 0.02 * t } }' >fx/lgm-sampled.trace.dat
awk 'BEGIN { print "# epoch loss_train loss_test ll_train ll_test seconds"
  for (t = 1; t <= 40; t++) {
    l = 130 + 60 * exp(-t / 6)
    ll = (t % 10 == 0) ? sprintf("%.17g", -l + 3) : "nan"
    printf "%d %.17g %.17g nan %s %.17g\n", t, l, l + 2, ll, 0.1 * t } }' >fx/vae.trace.dat
awk 'BEGIN { print "# epoch ll_train ll_test recon_err pseudo_ll seconds"
  for (t = 1; t <= 30; t++)
    printf "%d nan nan %.17g %.17g %.17g\n", t, 10 * exp(-t / 7) + 2, -25 - 20 * exp(-t / 5), 0.05 * t }' >fx/rbm.trace.dat

# latent spaces: 10 labelled clusters with k = 2 and k = 10; an unlabelled
# RBM-like file of hidden probabilities h1..h16.
latent() {  # latent K NAME LABEL(0/1) -> fx/NAME.latent.dat
  awk -v k="$1" -v lab="$3" -v h="${4:-z}" 'BEGIN { srand(k); s = "#"
    for (j = 1; j <= k; j++) s = s " " h j
    print s (lab ? " label" : "")
    for (i = 0; i < 400; i++) {
      c = i % 10; r = ""
      for (j = 1; j <= k; j++) {
        m = (j == 1) ? 3 * cos(c * 0.628) : (j == 2) ? 3 * sin(c * 0.628) : c - 4.5
        v = m + (rand() + rand() + rand() - 1.5) * 0.9
        if (h == "h") v = 1 / (1 + exp(-v))
        r = r (j > 1 ? " " : "") sprintf("%.17g", v)
      }
      print r (lab ? " " c : "") } }' >"fx/$2.latent.dat"
}
latent 2 k2 1
latent 10 k10 1
latent 16 rbm 0 h

# images: NAME COLUMNS ROWS KIND -> fx/NAME.dat with 8x8 digit-like images
# (a ring or a bar, shifted, values 0..16), or signed smooth filters (KIND
# filter), with the leading named columns given in COLUMNS (may be "").
images() {
  awk -v lead="$2" -v n="$3" -v kind="$4" -v d="${5:-64}" 'BEGIN { srand(n + d)
    s = int(sqrt(d) + 0.5); nl = split(lead, L, " ")
    hdr = "#"; for (j = 1; j <= nl; j++) hdr = hdr " " L[j]
    for (j = 1; j <= d; j++) hdr = hdr " x" j
    print hdr
    for (i = 1; i <= n; i++) {
      r = ""
      for (j = 1; j <= nl; j++) r = r (L[j] == "eigenvalue" ? 100 / i : i) " "
      cx = 3.5 + (i % 3) - 1; cy = 3.5 + (int(i / 3) % 3) - 1
      for (p = 0; p < d; p++) {
        y = int(p / s); x = p % s
        if (kind == "filter") v = sin(x * (1 + i % 4) / 2.5) * cos(y * (1 + i % 3) / 2.5)
        else if (i % 2) v = 16 * exp(-((sqrt((x - cx) ^ 2 + (y - cy) ^ 2) - 2.5) ^ 2))
        else v = 16 * exp(-((x - cx) ^ 2))
        r = r sprintf(p ? " %.17g" : "%.17g", v)
      }
      print r } }' >"fx/$1.dat"
}
images vae.samples "" 64 digit
images rbm.filters "unit" 100 filter
images pca.components "eigenvalue" 10 filter
images odd.samples "" 6 digit 65

# reconstructions: sample source x1..x64, the 64 inputs (source 0) then their
# reconstructions (source 1): the same image shifted by one pixel and blurred.
awk 'BEGIN { srand(5); hdr = "# sample source"; for (j = 1; j <= 64; j++) hdr = hdr " x" j; print hdr
  for (src = 0; src <= 1; src++)
    for (i = 1; i <= 64; i++) {
      r = i " " src; cx = 3.5 + (i % 3) - 1; cy = 3.5 + (int(i / 3) % 3) - 1
      for (p = 0; p < 64; p++) {
        y = int(p / 8); x = p % 8 - src
        v = (i % 2) ? 16 * exp(-((sqrt((x - cx) ^ 2 + (y - cy) ^ 2) - 2.5) ^ 2) / (1 + src)) \
                    : 16 * exp(-((x - cx) ^ 2) / (1 + src))
        r = r " " sprintf("%.17g", v)
      }
      print r } }' >fx/vae.recon.dat

# manifold: row col z1 z2 x1..x64, G = 5, row 1 at the top (largest z2);
# the image morphs from a bar (left) to a ring (right) and moves with z2.
awk 'BEGIN { G = 5; hdr = "# row col z1 z2"; for (j = 1; j <= 64; j++) hdr = hdr " x" j; print hdr
  split("-1.2815515655446004 -0.52440051270804067 0 0.52440051270804067 1.2815515655446004", Z, " ")
  for (row = 1; row <= G; row++)
    for (col = 1; col <= G; col++) {
      z1 = Z[col]; z2 = Z[G + 1 - row]; w = (col - 1) / (G - 1); cy = 3.5 - z2
      r = row " " col " " z1 " " z2
      for (p = 0; p < 64; p++) {
        y = int(p / 8); x = p % 8
        v = (1 - w) * 16 * exp(-((x - 3.5) ^ 2)) + w * 16 * exp(-((sqrt((x - 3.5) ^ 2 + (y - cy) ^ 2) - 2.5) ^ 2))
        r = r " " sprintf("%.17g", v)
      }
      print r } }' >fx/vae.manifold.dat

# comparison table: both families, the shared summary columns (tabs), AIS
# standard errors on the RBM rows, a nan ll_train; the optional bracket
# columns, finite on the RBM rows only.
{
  printf '# model\tfamily\tk\tn_params\tll_train\tll_test\tll_test_se\tmethod\titerations\tseconds\tll_test_lower\tll_test_upper\n'
  printf 'pca\tcontinuous\t10\t705\t-160.2\t-165.9\t0\texact\t50\t0.08\tnan\tnan\n'
  printf 'lgm-exact\tcontinuous\t10\t768\t-150.1\t-156.3\t0\texact\t200\t0.9\tnan\tnan\n'
  printf 'lgm-sampled\tcontinuous\t10\t768\t-151.7\t-157.0\t0\texact\t200\t1.4\tnan\tnan\n'
  printf 'vae-linear-gaussian\tcontinuous\t10\t1489\t-151.0\t-157.5\tnan\tiw-1000\t100\t12.5\tnan\tnan\n'
  printf 'vae-mlp-gaussian\tcontinuous\t2\t20000\tnan\t-170.4\t0.6\tiw-1000\t100\t20.1\tnan\tnan\n'
  printf 'vae-mlp-bernoulli\tbinary\t2\t19000\t-28.4\t-29.9\t0.2\tiw-1000\t100\t18.0\tnan\tnan\n'
  printf 'rbm-cd1\tbinary\t64\t4224\t-25.1\t-26.8\t0.4\tais\t30\t3.2\t-30.9\t-26.8\n'
  printf 'rbm-pcd1\tbinary\t64\t4224\t-24.0\t-25.2\t0.3\tais\t30\t3.3\t-28.1\t-25.2\n'
} >fx/compare.tsv
# a per-program summary of one family only (prefix form of compare.gp)
printf '# model\tfamily\tk\tn_params\tll_train\tll_test\tll_test_se\tmethod\titerations\tseconds\textra\npca\tcontinuous\t10\t705\t-160.2\t-165.9\t0\texact\t50\t0.08\t1\n' >fx/pca.summary.tsv

# a Gaussian mixture (gmm_em's files): three components in d = 3, 300 points
# (z1 z2 label, the layout of pca_iter's latent file) with their
# responsibilities and assignments, and the selection curves over K = 1..6
awk 'BEGIN { srand(8)
  split("0 0 6 1 3 5", M, " "); print "# component x1 x2 x3" > "fx/g.means.dat"
  print "# component weight" > "fx/g.weights.dat"; print "# component row x1 x2 x3" > "fx/g.covariances.dat"
  print "# r1 r2 r3 assigned label" > "fx/g.latent.dat"; print "# z1 z2 label" > "fx/g.points.dat"
  for (z = 1; z <= 3; z++) {
    printf "%d %.17g %.17g 0\n", z, M[2 * z - 1], M[2 * z] > "fx/g.means.dat"
    printf "%d %.17g\n", z, 1 / 3 > "fx/g.weights.dat"
    printf "%d 1 0.5 0.2 0\n%d 2 0.2 0.3 0\n%d 3 0 0 1\n", z, z, z > "fx/g.covariances.dat" }
  for (i = 0; i < 300; i++) {
    z = i % 3 + 1; u = rand() + rand() - 1; v = rand() + rand() - 1
    printf "%.17g %.17g %d\n", M[2 * z - 1] + u, M[2 * z] + 0.4 * u + 0.5 * v, z - 1 > "fx/g.points.dat"
    printf "%g %g %g %d %d\n", z == 1, z == 2, z == 3, z, z - 1 > "fx/g.latent.dat" }
  print "# K ll_train ll_test bic aic n_params seconds" > "fx/g.select.dat"
  for (k = 1; k <= 6; k++) {
    tr = -4 + 1.5 * (k < 3 ? k : 3) + 0.05 * k; te = tr - 0.02 * k * k
    printf "%d %.17g %.17g %.17g %.17g %d 0.1\n", k, tr, te, -600 * tr + 10 * k * 6, -600 * tr + 20 * k, 10 * k - 1 > "fx/g.select.dat" } }'

# the variance of a VAE's gradient estimators (nlgm_vae --grad-var): four
# estimators over epochs 0..8, from 1e-2 to 1e3, words in the estimator and
# baseline columns
awk 'BEGIN { print "# epoch estimator baseline mean_var total_var snr"
  split("reparam none 0.05 score none 500 score mean 20 score net 5", S, " ")
  for (e = 0; e <= 8; e++)
    for (i = 0; i < 4; i++) {
      v = S[3 * i + 3] * (1 + e / 4); if (i >= 2 && e == 0) v = 500
      printf "%d %s %s %.17g %.17g %.17g\n", e, S[3 * i + 1], S[3 * i + 2], v / 1000, v, 50 / v } }' >fx/vae.gradvar.dat

for f in fx/*.dat fx/*.tsv; do check_columns "$f"; done

# ------------------------------------------------------------------ checks
# hist, check_png and check_colour come from tests/lib.sh.
# plot SCRIPT ARGS... -> runs gnuplot -c on it; must succeed silently.
plot() {
  local s=$1
  shift
  gnuplot -c "$PLOTS/$s.gp" "$@" >plot.log 2>&1 || { cat plot.log >&2; fail "$s.gp $*: failed"; }
  [ ! -s plot.log ] || { cat plot.log >&2; fail "$s.gp $*: printed warnings"; }
  ok
}
blue=#1f77b4 red=#d62728 green=#2ca02c purple=#9467bd  # trace.gp's first colours
sep=#466ea0                                          # images.gp's separators

plot trace fx/lgm-exact fx/lgm-sampled
check_png fx/lgm-exact.trace.png
check_colour fx/lgm-exact.trace.png $blue 100
check_colour fx/lgm-exact.trace.png $red 100
plot trace fx/vae
check_png fx/vae.trace.png
check_colour fx/vae.trace.png $red 100          # ELBO = -loss curves
plot trace fx/rbm
check_png fx/rbm.trace.png
check_colour fx/rbm.trace.png $blue 100         # pseudo_ll (ll_* all nan)
plot trace fx/lgm-sampled fx/vae fx/rbm
check_png fx/lgm-sampled.trace.png
for c in $blue $green $purple; do check_colour fx/lgm-sampled.trace.png $c 100; done

plot latent fx/k2
check_png fx/k2.latent.png
plot latent fx/k10
check_png fx/k10.latent.png
for c in '#1f77b4' '#ff7f0e' '#2ca02c' '#d62728' '#9467bd' '#8c564b' '#e377c2' '#7f7f7f' '#bcbd22' '#17becf'; do
  check_colour fx/k2.latent.png "$c" 30       # every label's cluster drawn
  check_colour fx/k10.latent.png "$c" 30
done
plot latent fx/rbm
check_png fx/rbm.latent.png
check_colour fx/rbm.latent.png $blue 100

# image grids: exact black (the smallest value of each image, or of the
# common scale) on many pixels -- the title's antialiased text has none --
# and the separators
plot images fx/vae            # default: samples
check_png fx/vae.samples.png
plot images fx/vae recon
check_png fx/vae.recon.png
plot images fx/rbm filters
check_png fx/rbm.filters.png
plot images fx/pca components
check_png fx/pca.components.png
for f in vae.samples vae.recon rbm.filters pca.components; do
  check_colour fx/$f.png '#000000' 500
  check_colour fx/$f.png $sep 1000
done
# constant images (max = min) are drawn mid-grey, not as a division by 0
awk 'BEGIN { h = "#"; for (j = 1; j <= 64; j++) h = h " x" j; print h
  for (i = 1; i <= 10; i++) { r = "5"; for (j = 2; j <= 64; j++) r = r " 5"; print r } }' >fx/const.samples.dat
plot images fx/const samples
check_png fx/const.samples.png
check_colour fx/const.samples.png '#808080' 1000

# original / blacked-out / completed: missing pixels red, black pixels, the
# separators
awk 'BEGIN { srand(3); h = "# sample source"; for (j = 1; j <= 64; j++) h = h " x" j; print h
  for (i = 1; i <= 12; i++) { for (j = 1; j <= 64; j++) { v[j] = (j % 8 > 2 && j % 8 < 6) ? 16 : 0; m[j] = rand() < 0.3 }
    for (k = 0; k < 3; k++) { r = i " " k
      for (j = 1; j <= 64; j++) r = r " " (k == 1 && m[j] ? "nan" : k == 2 && m[j] ? v[j] / 2 : v[j])
      print r } } }' >fx/miss.completion.dat
plot completion fx/miss
check_png fx/miss.completion.png
check_colour fx/miss.completion.png '#dc2828' 300
check_colour fx/miss.completion.png '#000000' 500
check_colour fx/miss.completion.png $sep 1000
plot gradvar fx/vae
check_png fx/vae.gradvar.png
for c in $blue $red $green $purple; do check_colour fx/vae.gradvar.png $c 100; done
# a class grid (nlgm_cvae's samples: runs of one label, all as long): one row
# a class, so 2 classes x 8 images draw as a wide 2 x 8 grid, where the same
# 16 images without labels draw as a square 4 x 4; words name the rows
awk 'BEGIN { h = "#"; for (j = 1; j <= 64; j++) h = h " x" j; print h " label label_name"
  for (c = 0; c < 2; c++) for (i = 0; i < 8; i++) { r = ""
    for (p = 0; p < 64; p++) r = r sprintf(p ? " %d" : "%d", (p % 8 == i) + c * (int(p / 8) == i))
    print r " " c " " (c ? "two" : "one") } }' >fx/cvae.samples.dat
awk 'NR == 1 { print "#" substr($0, 2, index($0, " label") - 2); next } { NF = 64; print }' \
  fx/cvae.samples.dat >fx/plain.samples.dat
plot images fx/cvae samples
check_png fx/cvae.samples.png
plot images fx/plain samples
check_png fx/plain.samples.png
# width and height of a PNG, from its IHDR chunk
png_wh() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'; }
read -r w h < <(png_wh fx/cvae.samples.png)
[ "$h" -lt $((w * 2 / 3)) ] || fail "images.gp: the class grid is ${w}x${h}, expected 2 rows of 8"
read -r w h < <(png_wh fx/plain.samples.png)
[ "$h" -gt $((w * 2 / 3)) ] || fail "images.gp: 16 images without labels are ${w}x${h}, expected 4 x 4"
ok

plot manifold fx/vae
check_png fx/vae.manifold.png
check_colour fx/vae.manifold.png '#000000' 500

plot compare fx/compare.tsv
check_png fx/compare.png
plot compare fx/pca
check_png fx/pca.compare.png
for f in compare pca.compare; do
  check_colour fx/$f.png '#9ecae1' 500          # train bars
  check_colour fx/$f.png '#2171b5' 500          # test bars
done
check_colour fx/compare.png '#31a354' 100       # the RBMs' brackets

# the mixture: each component's points in its colour, the black ellipses
# and means; alone (no points), the ellipses in the components' colours;
# the selection curves (train blue, BIC red)
plot gmm fx/g fx/g.points.dat
check_png fx/g.gmm.png
for c in '#1f77b4' '#ff7f0e' '#2ca02c'; do check_colour fx/g.gmm.png "$c" 60; done
check_colour fx/g.gmm.png '#000000' 300
check_png fx/g.select.png
check_colour fx/g.select.png $blue 100
check_colour fx/g.select.png $red 100
rm fx/g.select.dat fx/g.select.png
plot gmm fx/g
check_png fx/g.gmm.png
for c in '#1f77b4' '#ff7f0e' '#2ca02c'; do check_colour fx/g.gmm.png "$c" 60; done
[ ! -e fx/g.select.png ] || fail "gmm.gp drew selection curves without PREFIX.select.dat"
ok
# the second coordinate in other units (x 1000): equal units would squeeze the
# points into a vertical sliver; a square plot spreads each component's points
# over a good part of the width (the key, right of x = 700, left out)
awk 'NR == 1 { print; next } { $3 *= 1000; print }' fx/g.means.dat >fx/gu.means.dat
awk 'NR == 1 { print; next } { $4 *= 1000; if ($2 == 2) { $3 *= 1000; $4 *= 1000; $5 *= 1000 } print }' \
  fx/g.covariances.dat >fx/gu.covariances.dat
awk 'NR == 1 { print; next } { $2 *= 1000; print }' fx/g.points.dat >fx/gu.points.dat
cp fx/g.weights.dat fx/gu.weights.dat
cp fx/g.latent.dat fx/gu.latent.dat
plot gmm fx/gu fx/gu.points.dat
check_png fx/gu.gmm.png
w=$(gnuplot -e "set table '/dev/stdout'; plot 'fx/gu.gmm.png' binary filetype=png with rgbimage" |
  awk '!/^#/ && NF >= 5 && $1 < 700 && sprintf("#%02x%02x%02x", $3, $4, $5) == "#1f77b4" {
         if (!n++ || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { print n ? hi - lo : 0 }')
[ "$w" -ge 100 ] || fail "gmm.gp, coordinates in different units: component 1's points span $w pixels across"
ok
# diagonal covariances (--cov diag, spherical): one row a component of the
# variances, component x1 .. xd; the same three means
cp fx/g.means.dat fx/gd.means.dat
cp fx/g.weights.dat fx/gd.weights.dat
printf '# component x1 x2 x3\n1 0.5 0.3 1\n2 0.5 0.3 1\n3 0.5 0.3 1\n' >fx/gd.covariances.dat
plot gmm fx/gd
check_png fx/gd.gmm.png
for c in '#1f77b4' '#ff7f0e' '#2ca02c'; do check_colour fx/gd.gmm.png "$c" 60; done
ok

# ------------------------------------------------------------------ errors
expect_error fx/odd.samples.png 'images\.gp: fx/odd\.samples\.dat: .*65.*not a square' \
  gnuplot -c "$PLOTS/images.gp" fx/odd samples
expect_error fx/none 'trace\.gp: fx/none\.trace\.dat: cannot read' \
  gnuplot -c "$PLOTS/trace.gp" fx/none
expect_error fx/lgm-exact.latent 'latent\.gp: fx/lgm-exact\.latent\.dat: cannot read' \
  gnuplot -c "$PLOTS/latent.gp" fx/lgm-exact
expect_error fx/none 'manifold\.gp: fx/none\.manifold\.dat: cannot read' \
  gnuplot -c "$PLOTS/manifold.gp" fx/none
expect_error fx/none 'gradvar\.gp: fx/none\.gradvar\.dat: cannot read' \
  gnuplot -c "$PLOTS/gradvar.gp" fx/none
printf '# epoch estimator baseline mean_var total_var\n0 reparam none 1 2\n' >fx/bad.gradvar.dat
expect_error fx/bad.gradvar.png "gradvar\.gp: fx/bad\.gradvar\.dat:1: expected a column 'snr'" \
  gnuplot -c "$PLOTS/gradvar.gp" fx/bad
expect_error fx/none 'compare\.gp: fx/none\.summary\.tsv: cannot read' \
  gnuplot -c "$PLOTS/compare.gp" fx/none
expect_error fx/none 'gmm\.gp: fx/none\.means\.dat: cannot read' \
  gnuplot -c "$PLOTS/gmm.gp" fx/none
head -n 100 fx/g.points.dat >fx/short.dat
rm -f fx/g.gmm.png fx/g.gmm.png.hist
expect_error fx/g.gmm.png 'gmm\.gp: fx/short\.dat has 99 rows, fx/g\.latent\.dat 300: expected the same rows' \
  gnuplot -c "$PLOTS/gmm.gp" fx/g fx/short.dat
# a trace file without iter/epoch; an image file without x1..xd
printf '# step ll_train\n1 -3\n' >fx/bad.trace.dat
expect_error fx/bad.trace.png "trace\.gp: fx/bad\.trace\.dat:1: expected a column 'iter' or 'epoch'" \
  gnuplot -c "$PLOTS/trace.gp" fx/bad
printf '# model\tfamily\tk\tll_train\tll_test\tmethod\npca\tcontinuous\t2\t-1\t-2\texact\n' >fx/bad.summary.tsv
expect_error fx/bad.compare "compare\.gp: fx/bad\.summary\.tsv:1: expected a column 'll_test_se'" \
  gnuplot -c "$PLOTS/compare.gp" fx/bad
expect_error fx/none.completion.png 'completion\.gp: fx/none\.completion\.dat: cannot read' \
  gnuplot -c "$PLOTS/completion.gp" fx/none
printf '# sample x1 x2 x3 x4\n1 0 1 2 3\n' >fx/nosrc.completion.dat
expect_error fx/nosrc.completion.png 'completion\.gp: fx/nosrc\.completion\.dat:1: expected the columns sample source x1 \.\. xd' \
  gnuplot -c "$PLOTS/completion.gp" fx/nosrc
printf '# sample source x1 x2 x3\n1 0 1 2 3\n' >fx/odd.completion.dat
expect_error fx/odd.completion.png 'completion\.gp: fx/odd\.completion\.dat: d = 3 .*not a square' \
  gnuplot -c "$PLOTS/completion.gp" fx/odd
printf '# a b\n1 2\n' >fx/bad.samples.dat
expect_error fx/bad.samples.png 'images\.gp: fx/bad\.samples\.dat:1: .*x1' \
  gnuplot -c "$PLOTS/images.gp" fx/bad samples

done_ok
