# completion.gp -- images with missing pixels: original, blacked-out, completed.
#
#   gnuplot -c plots/completion.gp PREFIX [MAX]
#
# Reads PREFIX.completion.dat and writes PREFIX.completion.png.  The file
# (written by scripts/lab.sh from the data, the blacked-out data and
# lgm_em's PREFIX.imputed.dat) has the columns `sample source x1 .. xd`:
# for each sample three rows, source 0 the original image, 1 the image with
# its missing pixels as nan, 2 the image completed by E[x_m | x_o].  Each
# sample is a column of the picture, the three sources its rows from the
# top; missing pixels are drawn red.
#   MAX     at most this many samples, the first ones of the file (default 12)
# One grey scale for all images, black = low, white = high: the minimum and
# maximum of the originals' pixels (completed values beyond clip); the title
# says the range.  Pixels are x1 .. xd, consecutive, row-major; the image
# side is sqrt(d).
# Errors (missing file, no `sample source x1 .. xd`, non-square d, bad MAX):
# one line on stderr, exit status 1, no PNG written.

if (ARGC < 1 || ARGC > 2) {
    print "completion.gp: usage: gnuplot -c plots/completion.gp PREFIX [MAX]"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"

P = ARG1
F = P . ".completion.dat"
if (ARGC >= 2) {
    if (system("echo " . q(ARG2) . " | grep -Ec '^[1-9][0-9]*$'") ne "1") {
        print sprintf("completion.gp: MAX %s: expected a positive whole number of samples", ARG2)
        exit status 1
    }
    nmax = int(ARG2)
} else {
    nmax = 12
}
if (system("test -r " . q(F) . " && echo y") ne "y") {
    print sprintf("completion.gp: %s: cannot read the file", F)
    exit status 1
}
h = system("head -n 1 " . q(F))
if (word(h, 1) ne "#") {
    print sprintf("completion.gp: %s:1: expected a '# ' header of column names", F)
    exit status 1
}
cx = colof(h, "x1")
csample = colof(h, "sample")
csource = colof(h, "source")
d = int(system(sprintf("head -n 1 %s | awk '{ d = 0; for (i = %d + 1; i <= NF && $i == \"x\" (d + 1); i++) d++; print d }'", q(F), cx)))
if (cx == 0 || d == 0 || csample == 0 || csource == 0) {
    print sprintf("completion.gp: %s:1: expected the columns sample source x1 .. xd in the header", F)
    exit status 1
}
s = int(sqrt(d) + 0.5)
if (s * s != d) {
    print sprintf("completion.gp: %s: d = %d pixel columns (x1 .. x%d) is not a square: expected side x side pixels (64 = 8x8, 784 = 28x28)", F, d, d)
    exit status 1
}
# samples shown, and the grey scale from the originals (source 0) shown
stats_ = system(sprintf("awk '!/^#/ && !($%d in idx) { if (m >= N) next; idx[$%d] = ++m }" . \
                        " !/^#/ && ($%d in idx) && $%d == 0 { for (p = 0; p < %d; p++) { v = $(%d + p) + 0;" . \
                        " if (!k++ || v < lo) lo = v; if (k == 1 || v > hi) hi = v } }" . \
                        " END { printf \"%%d %%.17g %%.17g\", m, lo, hi }' N=%d %s", \
                        csample, csample, csample, csource, d, cx, nmax, q(F)))
nshow = int(word(stats_, 1))
glo = word(stats_, 2)
ghi = word(stats_, 3)
if (nshow < 1) {
    print sprintf("completion.gp: %s: no data rows", F)
    exit status 1
}
C = nshow
R = 3
g = (s >= 16) ? int(s / 8) : 1        # separator width, pixels
Wc = C * (s + g) + g                  # canvas, pixels
Hc = R * (s + g) + g

# awk: paints the canvas and prints "x y r g b" for every canvas pixel
# (y = 0 at the top), grey = 255 (v - lo) / (hi - lo), missing pixels red,
# separators blue.
tile = \
  "!/^#/ { j = $cs; if (!(j in idx)) { if (m >= N) next; idx[j] = ++m }; t = idx[j]; tr = $cr + 0;" . \
  "        if (tr < 0 || tr > 2) next; ox = (t - 1) * (s + g) + g; oy = tr * (s + g) + g;" . \
  "        for (p = 0; p < d; p++) { x = ox + p % s; y = oy + int(p / s); w = $(cx + p);" . \
  "          if (w ~ /^[-+]?[nN][aA][nN]$/) M[x, y] = 1; else V[x, y] = w + 0 } }" . \
  " END { for (y = 0; y < H; y++) for (x = 0; x < Wc; x++) {" . \
  "   if ((x, y) in M) print x, y, 220, 40, 40;" . \
  "   else if ((x, y) in V) { c = (ghi > glo) ? int(255 * (V[x, y] - glo) / (ghi - glo) + 0.5) : 128;" . \
  "     c = c < 0 ? 0 : c > 255 ? 255 : c; print x, y, c, c, c } else print x, y, 70, 110, 160 } }"
src = sprintf("< awk -v glo=%s -v ghi=%s -v cs=%d -v cr=%d -v N=%d -v s=%d -v d=%d -v g=%d -v cx=%d -v H=%d -v Wc=%d '%s' %s", \
              glo, ghi, csample, csource, nshow, s, d, g, cx, Hc, Wc, tile, q(F))
name = system("basename -- " . q(P))

px = floor(860.0 / (Wc > Hc ? Wc : Hc))
px = (px >= 3) ? px : 860.0 / (Wc > Hc ? Wc : Hc)
lm = 110
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
set output P . ".completion.png"
set title sprintf("%s: %d images, %dx%d pixels; missing pixels red, completed by E[x_m | x_o]\none grey scale: black <= %.4g, white >= %.4g (the originals' range)", name, nshow, s, s, glo + 0, ghi + 0) noenhanced
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
yc(r) = r * (s + g) + g + (s - 1) / 2.0
set ytics scale 0 nomirror font ",10" ("original" yc(0), "blacked out" yc(1), "completed" yc(2))
plot src using 1:2:3:4:5 with rgbimage
