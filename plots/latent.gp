# latent.gp -- the latent space: one point a sample, coloured by its label.
#
#   gnuplot -c plots/latent.gp PREFIX
#
# Reads PREFIX.latent.dat and writes PREFIX.latent.png.
# Columns are found by the names of the "# " header (docs/developers.md):
#   z1 z2 ... zk   posterior means (PCA, LGM, VAE), or
#   h1 h2 ... hH   the RBM's hidden probabilities p(h_j = 1 | v);
#   label          optional, the class of each sample;
#   label_name     optional, its name when the labels were words (the legend
#                  shows the names).
# The first two coordinates are drawn (z1 across, z2 up); with more than two
# the title says "first two of k coordinates"; with one, z1 is drawn against
# the sample number.  With labels, each label has its own colour and a legend
# entry (up to 30 distinct labels; more are coloured by a palette with a
# colour box); without labels every point has one colour.
# Errors (missing file, no z1/h1 column): one line on stderr, exit status 1,
# no PNG written.

if (ARGC != 1) {
    print "latent.gp: usage: gnuplot -c plots/latent.gp PREFIX"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"

P = ARG1
F = P . ".latent.dat"
if (system("test -r " . q(F) . " && echo y") ne "y") {
    print sprintf("latent.gp: %s: cannot read the file", F)
    exit status 1
}
h = system("head -n 1 " . q(F))
if (word(h, 1) ne "#") {
    print sprintf("latent.gp: %s:1: expected a '# ' header of column names", F)
    exit status 1
}
v = "z"
c1 = colof(h, "z1")
if (c1 == 0) {
    v = "h"
    c1 = colof(h, "h1")
}
if (c1 == 0) {
    print sprintf("latent.gp: %s:1: expected a column 'z1' (or 'h1' for the RBM)", F)
    exit status 1
}
# k: how many of v1, v2, ... the header has, in order
k = int(system(sprintf("head -n 1 %s | awk '{ k = 0; for (i = 2; i <= NF; i++) if ($i == \"%s\" (k + 1)) k++; print k }'", q(F), v)))
c2 = (k >= 2) ? c1 + 1 : 0
cl = colof(h, "label")
n = int(system(sprintf("awk '!/^#/ { n++ } END { print n + 0 }' %s", q(F))))
if (n < 1) {
    print sprintf("latent.gp: %s: no data rows", F)
    exit status 1
}
labels = (cl > 0) ? system(sprintf("awk '!/^#/ { print $%d }' %s | sort -g -u | tr '\\n' ' '", cl, q(F))) : ""
nl = words(labels)
# the class names, in the order of the sorted codes, when the file has them
cn = colof(h, "label_name")
names = (cl > 0 && cn > 0) ? system(sprintf("awk '!/^#/ { print $%d, $%d }' %s | sort -g -u -k1,1 | awk '{ print $2 }' | tr '\\n' ' '", cl, cn, q(F))) : labels

colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf"
ptypes = "7 5 9 11"
ps = (n > 5000) ? 0.3 : (n > 1000) ? 0.45 : 0.7

if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size 900,760 enhanced font "sans,11"
} else {
    set terminal png size 900,760 enhanced
}
set output P . ".latent.png"

name = system("basename -- " . q(P))
what = (v eq "z") ? "latent space (posterior means)" : "hidden units p(h_j = 1 | v)"
which = (k > 2) ? sprintf(", first two of %d coordinates", k) : (k == 1) ? ", its only coordinate" : ""
set title sprintf("%s: %s%s, %d samples", name, what, which, n) noenhanced
lab(j) = (v eq "z") ? sprintf("z%d", j) : sprintf("p(h%d = 1 | v)", j)
set xlabel lab(1) noenhanced
if (k >= 2) {
    set ylabel lab(2) noenhanced
} else {
    set ylabel "sample number"
}
if (v eq "h") {
    set xrange [-0.03:1.03]
    if (k >= 2) { set yrange [-0.03:1.03] }
}
set size square
set grid lc rgb "#e0e0e0" lw 1 dt 1
set offsets graph 0.02, graph 0.02, graph 0.02, graph 0.02
Y = (k >= 2) ? "column(c2)" : "column(0) + 1"

if (nl >= 1 && nl <= 30) {
    set key outside right top title "label" noenhanced
    plot for [i = 1:nl] F using (column(c1)):(column(cl) == word(labels, i) + 0 ? @Y : NaN) \
         with points pt (word(ptypes, (i - 1) / 10 + 1) + 0) ps ps lc rgb word(colors, (i - 1) % 10 + 1) \
         title word(names, i)
} else {
    if (nl > 30) {
        unset key
        set palette rgbformulae 33,13,10
        set cblabel sprintf("label (%d distinct values)", nl)
        plot F using (column(c1)):(@Y):(column(cl)) with points pt 7 ps ps lc palette notitle
    } else {
        unset key
        plot F using (column(c1)):(@Y) with points pt 7 ps ps lc rgb "#1f77b4" notitle
    }
}
