# manifold.gp -- the VAE's decoder over a grid of its 2-D latent space.
#
#   gnuplot -c plots/manifold.gp PREFIX
#
# Reads PREFIX.manifold.dat and writes PREFIX.manifold.png: one big image of
# the decoded images tiled edge to edge (images smaller than 16x16, like the
# 8x8 digits, with a 1-pixel separator), tile (row, col) at row `row` from the
# top and column `col` from the left, with the z1 value of each column along
# the bottom axis and the z2 value of each row along the left axis (every
# tic for G <= 12, fewer for larger grids).
# Columns are found by the names of the "# " header (docs/developers.md):
#   row col z1 z2 x1 .. xd   a G x G grid, row 1 at the top (largest z2),
#                            col 1 at the left (smallest z1); pixels x1 .. xd
#                            row-major, side sqrt(d) (a non-square d is an
#                            error).
# One grey scale for the whole picture: black at and below the 1 % quantile
# of the decoded values, white at and above the 99 % quantile (a few outliers
# do not wash out the contrast; min..max when the two are equal); the title
# gives both.
# Errors (missing file or column, non-square d): one line on stderr, exit
# status 1, no PNG written.

if (ARGC != 1) {
    print "manifold.gp: usage: gnuplot -c plots/manifold.gp PREFIX"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"

P = ARG1
F = P . ".manifold.dat"
if (system("test -r " . q(F) . " && echo y") ne "y") {
    print sprintf("manifold.gp: %s: cannot read the file", F)
    exit status 1
}
h = system("head -n 1 " . q(F))
if (word(h, 1) ne "#") {
    print sprintf("manifold.gp: %s:1: expected a '# ' header of column names", F)
    exit status 1
}
cr = colof(h, "row")
cc = colof(h, "col")
cz1 = colof(h, "z1")
cz2 = colof(h, "z2")
cx = colof(h, "x1")
if (cr == 0 || cc == 0 || cz1 == 0 || cz2 == 0 || cx == 0) {
    print sprintf("manifold.gp: %s:1: expected the columns row col z1 z2 x1 .. xd", F)
    exit status 1
}
d = int(system(sprintf("head -n 1 %s | awk '{ d = 0; for (i = %d + 1; i <= NF && $i == \"x\" (d + 1); i++) d++; print d }'", q(F), cx)))
s = int(sqrt(d) + 0.5)
if (s * s != d) {
    print sprintf("manifold.gp: %s: d = %d pixel columns (x1 .. x%d) is not a square: expected side x side pixels (64 = 8x8, 784 = 28x28)", F, d, d)
    exit status 1
}
# grid size; the grey scale: the 1 % and 99 % quantiles of the decoded
# values (beyond them grey levels clip, so that a Gaussian decoder's few
# outlying values do not wash out the contrast); min .. max when they coincide
st = system(sprintf("awk '!/^#/ { n++; if ($%d > R) R = $%d; if ($%d > C) C = $%d;" . \
                    " for (p = 0; p < %d; p++) print \"v\", $(%d + p) + 0 }" . \
                    " END { printf \"n %%d %%d %%d\\n\", n, R, C }' %s | sort -k1,1 -k2,2g |" . \
                    " awk '$1 == \"n\" { g = $2 \" \" $3 \" \" $4; next } { v[++m] = $2 }" . \
                    " END { lo = v[int(0.01 * (m - 1)) + 1]; hi = v[m - int(0.01 * (m - 1))]; if (lo == hi) { lo = v[1]; hi = v[m] }" . \
                    " printf \"%%s %%.17g %%.17g\", g, lo, hi }'", cr, cr, cc, cc, d, cx, q(F)))
n = int(word(st, 1))
R = int(word(st, 2))
C = int(word(st, 3))
if (n < 1 || R < 1 || C < 1) {
    print sprintf("manifold.gp: %s: no data rows with row, col >= 1", F)
    exit status 1
}
# tiles edge to edge, or with a 1-pixel separator for small images (8x8
# digits fill their tiles and would run into each other)
g = (s < 16) ? 1 : 0
Wc = C * (s + g) + g
Hc = R * (s + g) + g

tile = \
  "!/^#/ { ox = ($cc - 1) * (s + g) + g; oy = ($cr - 1) * (s + g) + g;" . \
  "  for (p = 0; p < d; p++) { V[ox + p % s, oy + int(p / s)] = $(cx + p) + 0 } }" . \
  " END { for (y = 0; y < H; y++) for (x = 0; x < Wc; x++) {" . \
  "   if ((x, y) in V) { c = (hi > lo) ? int(255 * (V[x, y] - lo) / (hi - lo) + 0.5) : 128; c = c < 0 ? 0 : c > 255 ? 255 : c;" . \
  "     print x, y, c, c, c } else print x, y, 70, 110, 160 } }"
src = sprintf("< awk -v g=%d -v cr=%d -v cc=%d -v s=%d -v d=%d -v cx=%d -v H=%d -v Wc=%d -v lo=%s -v hi=%s '%s' %s", \
              g, cr, cc, s, d, cx, Hc, Wc, word(st, 4), word(st, 5), tile, q(F))

# tics: the z1 of each column, the z2 of each row, at the tile centres
step = (R > 12 || C > 12) ? ceil(((R > C) ? R : C) / 10.0) : 1
tz = system(sprintf("awk '!/^#/ { if (!($%d in a)) a[$%d] = $%d; if (!($%d in b)) b[$%d] = $%d }" . \
                    " END { for (c in a) if ((c - 1) %% %d == 0) printf \"x %%d %%.2f\\n\", c, a[c];" . \
                    " for (r in b) if ((r - 1) %% %d == 0) printf \"y %%d %%.2f\\n\", r, b[r] }' %s", \
                    cc, cc, cz1, cr, cr, cz2, step, step, q(F)))
xt = ""
yt = ""
do for [i = 1:words(tz) / 3] {
    ax = word(tz, 3 * i - 2)
    pos = (word(tz, 3 * i - 1) - 1) * (s + g) + g + (s - 1) / 2.0
    lab = word(tz, 3 * i)
    if (ax eq "x") {
        xt = xt . sprintf("%s\"%s\" %g", (xt eq "" ? "" : ", "), lab, pos)
    } else {
        yt = yt . sprintf("%s\"%s\" %g", (yt eq "" ? "" : ", "), lab, pos)
    }
}

# screen pixels an image pixel: a whole number when it is 3 or more (even
# pixels), else a fraction, so that the picture is about 800 pixels across;
# the canvas is at least 900 wide for the title
px = floor(800.0 / (Wc > Hc ? Wc : Hc))
px = (px >= 3) ? px : 800.0 / (Wc > Hc ? Wc : Hc)
iw = int(Wc * px + 0.5)
ih = int(Hc * px + 0.5)
tw = (iw + 110 > 900) ? iw + 110 : 900
th = ih + 150
x0 = 80 + (tw - 110 - iw) / 2
if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size tw, th enhanced font "sans,11"
} else {
    set terminal png size tw, th enhanced
}
set output P . ".manifold.png"
name = system("basename -- " . q(P))
set title sprintf("%s: decoded means over a %d x %d grid of the latent space, %dx%d pixels each\none grey scale: black <= %.4g, white >= %.4g (1 %% and 99 %% quantiles of the values)", \
                  name, R, C, s, s, word(st, 4) + 0, word(st, 5) + 0) noenhanced
set lmargin at screen 1.0 * x0 / tw
set rmargin at screen 1.0 * (x0 + iw) / tw
set bmargin at screen 60.0 / th
set tmargin at screen (60.0 + ih) / th
set xrange [-0.5:Wc - 0.5]
set yrange [Hc - 0.5:-0.5]
set xlabel "z1 (tile centres)"
set ylabel "z2 (tile centres)"
eval "set xtics out nomirror (" . xt . ")"
eval "set ytics out nomirror (" . yt . ")"
unset key
unset colorbox
plot src using 1:2:3:4:5 with rgbimage
