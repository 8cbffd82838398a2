# images.gp -- a grid of images from any file of one image a row.
#
#   gnuplot -c plots/images.gp PREFIX [WHICH [MAX [SCALE]]]
#
# Reads PREFIX.WHICH.dat and writes PREFIX.WHICH.png (named after the file,
# not the script, so that one run's samples, filters and reconstructions
# do not overwrite each other):
#   WHICH   samples (default), filters (RBM), components (PCA), recon (VAE),
#           manifold (VAE; plots/manifold.gp draws it with its z axes), or
#           any NAME of a PREFIX.NAME.dat with pixel columns
#   MAX     at most this many images, the first ones of the file (default 100;
#           for recon, this many input/reconstruction pairs)
#   SCALE   how pixel values become grey levels, black = low, white = high:
#             common  one range for all images shown: the 1 % and 99 %
#                     quantiles of their pixel values (values beyond clip to
#                     black or white, so that a few outliers do not wash out
#                     the contrast); min..max if the quantiles are equal;
#                     the default, except for filters and components;
#             own     each image its own min..max (the default for filters and
#                     components, whose images are weights of different sizes)
#           the title says which, and the range of the common scale.
# Columns are found by the names of the "# " header (docs/developers.md): the
# pixels are x1 .. xd, consecutive, row-major, other named columns may come
# first and are ignored.  The image side is sqrt(d) (8 for digits, 28 for
# MNIST-like data); a d that is not a square is an error.  When the file has
# the columns `sample` and `source` (PREFIX.recon.dat: inputs are source 0,
# reconstructions source 1), each reconstruction is drawn directly above its
# input, pairs matched by `sample`.  When the file has a `label` column whose
# rows come in runs of one label, every run as long (PREFIX.samples.dat of
# nlgm_cvae: the same z drawn with every class), each run is one row of the
# grid, labelled with its class (`label_name` when the file has it): one row a
# class, one column a z; MAX is then the most columns shown.
# Otherwise images are laid out left to right, top to bottom, in file order.
# Images are separated by blue lines.
# Errors (missing file, no x1 .. xd, non-square d, bad MAX or SCALE): one line
# on stderr, exit status 1, no PNG written.

if (ARGC < 1 || ARGC > 4) {
    print "images.gp: usage: gnuplot -c plots/images.gp PREFIX [WHICH [MAX [SCALE]]]"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"

P = ARG1
W = (ARGC >= 2) ? ARG2 : "samples"
F = P . "." . W . ".dat"
if (ARGC >= 3) {
    if (system("echo " . q(ARG3) . " | grep -Ec '^[1-9][0-9]*$'") ne "1") {
        print sprintf("images.gp: MAX %s: expected a positive whole number of images", ARG3)
        exit status 1
    }
    nmax = int(ARG3)
} else {
    nmax = 100
}
scale = (W eq "filters" || W eq "components") ? "own" : "common"
if (ARGC >= 4) {
    if (ARG4 ne "own" && ARG4 ne "common") {
        print sprintf("images.gp: SCALE %s: expected 'own' or 'common'", ARG4)
        exit status 1
    }
    scale = ARG4
}
if (system("test -r " . q(F) . " && echo y") ne "y") {
    print sprintf("images.gp: %s: cannot read the file", F)
    exit status 1
}
h = system("head -n 1 " . q(F))
if (word(h, 1) ne "#") {
    print sprintf("images.gp: %s:1: expected a '# ' header of column names", F)
    exit status 1
}
cx = colof(h, "x1")
# d: how many of x1, x2, ... follow each other from column cx
d = int(system(sprintf("head -n 1 %s | awk '{ d = 0; for (i = %d + 1; i <= NF && $i == \"x\" (d + 1); i++) d++; print d }'", q(F), cx)))
if (cx == 0 || d == 0) {
    print sprintf("images.gp: %s:1: expected pixel columns x1 .. xd in the header", F)
    exit status 1
}
s = int(sqrt(d) + 0.5)
if (s * s != d) {
    print sprintf("images.gp: %s: d = %d pixel columns (x1 .. x%d) is not a square: expected side x side pixels (64 = 8x8, 784 = 28x28)", F, d, d)
    exit status 1
}
csample = colof(h, "sample")
csource = colof(h, "source")
recon = (csample > 0 && csource > 0)
n = int(system(sprintf("awk '!/^#/ { n++ } END { print n + 0 }' %s", q(F))))
if (n < 1) {
    print sprintf("images.gp: %s: no data rows", F)
    exit status 1
}
# a class grid: runs of one label, all as long (the lengths, one of each)
clab = colof(h, "label")
cname = colof(h, "label_name")
grid = 0
if (!recon && clab > 0) {
    runs = system(sprintf("awk '!/^#/ { if (n && $%d == last) len++; else { if (n) print len; len = 1; n++ } last = $%d } END { if (n) print len }' %s | sort -u", clab, clab, q(F)))
    if (words(runs) == 1) {
        nper = int(word(runs, 1))
        nclass = n / nper
        grid = 1
    }
}
# the number of images (or input/reconstruction pairs) shown
if (recon) {
    nall = int(system(sprintf("awk '!/^#/ && !($%d in s) { s[$%d] = 1; n++ } END { print n + 0 }' %s", csample, csample, q(F))))
} else {
    nall = n
}
nshow = (nall < nmax) ? nall : nmax
# C tiles a row: a square-ish grid (recon: 2 image rows a pair row), with a
# C that divides the count when one is near, so that the last row is full
C0 = recon ? ceil(sqrt(2.0 * nshow)) : ceil(sqrt(1.0 * nshow))
C0 = (C0 > nshow) ? nshow : C0
C = C0
do for [c = 2 * C0:C0:-1] {
    if (c <= nshow && nshow % c == 0) { C = c }
}
R = ceil(1.0 * nshow / C)
if (grid) {
    # a row a class, the first MAX images of each
    C = (nper < nmax) ? nper : nmax
    R = nclass
    nshow = R * C
}
g = (s >= 16) ? int(s / 8) : 1        # separator width, pixels
g2 = recon ? 2 * g : 0                # extra gap between pair rows
tr_n = recon ? 2 * R : R              # image rows
Wc = C * (s + g) + g                  # canvas, pixels
Hc = tr_n * (s + g) + g + (recon ? (R - 1) * g2 : 0)

# The common scale: the 1 % and 99 % quantiles of the pixel values shown
# (beyond them grey levels clip), so that a few outlying values -- a
# Gaussian decoder's or sampler's -- do not wash out the contrast of the
# rest; min .. max when the quantiles coincide.
glo = "0"
ghi = "1"
if (scale eq "common") {
    range = system(sprintf("awk '!/^#/ { if (recon) { if (!($%d in idx)) { if (m >= N) next; idx[$%d] = ++m } } else if (grid) { if ((r++ %% nper) >= C) next } else if (++m > N) exit;" . \
                           " for (p = 0; p < %d; p++) print $(%d + p) + 0 }' recon=%d N=%d grid=%d nper=%d C=%d %s | sort -g |" . \
                           " awk '{ v[++n] = $1 } END { lo = v[int(0.01 * (n - 1)) + 1]; hi = v[n - int(0.01 * (n - 1))];" . \
                           " if (lo == hi) { lo = v[1]; hi = v[n] } printf \"%%.17g %%.17g\", lo, hi }'", \
                           csample > 0 ? csample : 1, csample > 0 ? csample : 1, d, cx, recon, nshow, grid, grid ? nper : 1, C, q(F)))
    glo = word(range, 1)
    ghi = word(range, 2)
    scaletext = sprintf("one grey scale for all images: black <= %.4g, white >= %.4g (1 %% and 99 %% quantiles of the values)", glo + 0, ghi + 0)
} else {
    scaletext = "each image scaled to its own range: black = its minimum, white = its maximum"
}

# awk: paints the canvas and prints "x y r g b" for every canvas pixel
# (y = 0 at the top), grey = 255 (v - lo) / (hi - lo); separators blue.
tile = \
  "!/^#/ { if (recon) { j = $cs; if (!(j in idx)) { if (m >= N) next; idx[j] = ++m }; t = idx[j];" . \
  "          tr = 2 * int((t - 1) / C) + ($cr == 0 ? 1 : 0); tc = (t - 1) % C }" . \
  "        else if (grid) { t = ++m; tr = int((t - 1) / nper); tc = (t - 1) % nper; if (tc >= C) next }" . \
  "        else { if (++m > N) exit; t = m; tr = int((t - 1) / C); tc = (t - 1) % C }" . \
  "        id = tr * C + tc; ox = tc * (s + g) + g; oy = tr * (s + g) + g + (recon ? int(tr / 2) * g2 : 0);" . \
  "        for (p = 0; p < d; p++) { v = $(cx + p) + 0; x = ox + p % s; y = oy + int(p / s); V[x, y] = v; K[x, y] = id;" . \
  "          if (!(id in lo) || v < lo[id]) lo[id] = v; if (!(id in hi) || v > hi[id]) hi[id] = v" . \
  "          } }" . \
  " END { for (y = 0; y < H; y++) for (x = 0; x < Wc; x++) {" . \
  "   if ((x, y) in V) { id = K[x, y]; a = own ? lo[id] : glo; b = own ? hi[id] : ghi;" . \
  "     c = (b > a) ? int(255 * (V[x, y] - a) / (b - a) + 0.5) : 128; c = c < 0 ? 0 : c > 255 ? 255 : c;" . \
  "     print x, y, c, c, c } else print x, y, 70, 110, 160 } }"
src = sprintf("< awk -v glo=%s -v ghi=%s -v recon=%d -v grid=%d -v nper=%d -v cs=%d -v cr=%d -v N=%d -v C=%d -v s=%d -v d=%d -v g=%d -v g2=%d -v cx=%d -v H=%d -v Wc=%d -v own=%d '%s' %s", \
              glo, ghi, recon, grid, grid ? nper : 1, csample, csource, nshow, C, s, d, g, g2, cx, Hc, Wc, (scale eq "own"), tile, q(F))
name = system("basename -- " . q(P))
what = recon ? sprintf("%d inputs (lower row of each pair) and their reconstructions (upper row)", nshow) \
             : sprintf("%s, %d images", W, nshow)
if (nshow < nall && !grid) { what = what . sprintf(" (the first %d of %d)", nshow, nall) }
if (grid) {
    what = sprintf("%s, %d classes (rows) x %d draws of z (columns), the same z down a column", W, R, C)
    if (C < nper) { what = what . sprintf(" (the first %d of %d)", C, nper) }
}

# screen pixels an image pixel: a whole number when it is 3 or more (even
# pixels), else a fraction, so that the grid is about 860 pixels across; the
# canvas is at least 900 wide for the title
px = floor(860.0 / (Wc > Hc ? Wc : Hc))
px = (px >= 3) ? px : 860.0 / (Wc > Hc ? Wc : Hc)
lm = (recon || grid) ? 110 : 20
iw = int(Wc * px + 0.5)
ih = int(Hc * px + 0.5)
tw = (iw + lm + 20 > 900) ? iw + lm + 20 : 900
th = ih + 90
x0 = lm + (tw - lm - 20 - iw) / 2
if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size tw, th enhanced font "sans,11"
} else {
    set terminal png size tw, th enhanced
}
set output P . "." . W . ".png"
set title sprintf("%s: %s, %dx%d pixels\n%s", name, what, s, s, scaletext) noenhanced
set lmargin at screen 1.0 * x0 / tw
set rmargin at screen 1.0 * (x0 + iw) / tw
set bmargin at screen 10.0 / th
set tmargin at screen 1.0 * (10 + ih) / th
set xrange [-0.5:Wc - 0.5]
set yrange [Hc - 0.5:-0.5]
unset key
unset colorbox
unset border
unset xtics
unset ytics
if (recon) {
    tics = ""
    do for [r = 0:tr_n - 1] {
        yc = r * (s + g) + g + int(r / 2) * g2 + (s - 1) / 2.0
        tics = tics . sprintf("%s\"%s\" %g", (r > 0 ? ", " : ""), (r % 2 == 0 ? "reconstruction" : "input"), yc)
    }
    eval "set ytics scale 0 nomirror font \",10\" (" . tics . ")"
}
if (grid) {
    # each row's class: its name (without quotes or backslashes), else its label
    names = system(sprintf("awk '!/^#/ && (m++ %% %d) == 0 { v = %d ? $%d : $%d; gsub(/[\"\\\\ ]/, \"_\", v); print v }' %s | tr '\\n' ' '", nper, cname, cname > 0 ? cname : 1, clab, q(F)))
    tics = ""
    do for [r = 0:R - 1] {
        yc = r * (s + g) + g + (s - 1) / 2.0
        tics = tics . sprintf("%s\"%s\" %g", (r > 0 ? ", " : ""), word(names, r + 1), yc)
    }
    eval "set ytics scale 0 nomirror font \",10\" (" . tics . ")"
}
plot src using 1:2:3:4:5 with rgbimage
