# gradvar.gp -- the variance of a VAE's gradient estimators over training, on a
# log scale: the score function against the reparameterisation, and what a
# baseline does (docs/vae.md, "Measuring the variance").
#
#   gnuplot -c plots/gradvar.gp PREFIX
#
# Reads PREFIX.gradvar.dat (nlgm_vae --grad-var N) and writes
# PREFIX.gradvar.png.  Columns are found by the names of the "# " header:
#   epoch       0 (the initial parameters), 1, 2, ...
#   estimator   reparam | score
#   baseline    none | mean | net
#   total_var   the estimate's variance summed over the encoder's parameters
#   snr         |mean|^2 / total_var
# One curve an estimator (estimator and baseline), in the order of the file:
# the total variance against the epoch in the upper panel, the
# signal-to-noise ratio in the lower one, both on log axes.
# Errors (missing file, missing column, no rows): one line on stderr, exit
# status 1, no PNG written.

if (ARGC != 1) {
    print "gradvar.gp: usage: gnuplot -c plots/gradvar.gp PREFIX"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"

P = ARG1
F = P . ".gradvar.dat"
if (system("test -r " . q(F) . " && echo y") ne "y") {
    print sprintf("gradvar.gp: %s: cannot read the file", F)
    exit status 1
}
h = system("head -n 1 " . q(F))
if (word(h, 1) ne "#") {
    print sprintf("gradvar.gp: %s:1: expected a '# ' header of column names", F)
    exit status 1
}
need = "epoch estimator baseline total_var snr"
do for [i = 1:words(need)] {
    if (colof(h, word(need, i)) == 0) {
        print sprintf("gradvar.gp: %s:1: expected a column '%s'", F, word(need, i))
        exit status 1
    }
}
ce = colof(h, "epoch")
cs = colof(h, "estimator")
cb = colof(h, "baseline")
cv = colof(h, "total_var")
cr = colof(h, "snr")
# the estimators, "estimator:baseline" in the order of the file
series = system(sprintf("awk '!/^#/ && NF { k = $%d \":\" $%d; if (!(k in s)) { s[k] = 1; print k } }' %s | tr '\\n' ' '", cs, cb, q(F)))
ns = words(series)
if (ns == 0) {
    print sprintf("gradvar.gp: %s: no data rows", F)
    exit status 1
}
ne = int(system(sprintf("awk '!/^#/ && NF { print $%d }' %s | sort -g -u | wc -l", ce, q(F))))

est(s) = s[1:strstrt(s, ":") - 1]
base(s) = s[strstrt(s, ":") + 1:]
title_of(s) = (est(s) eq "reparam") ? "reparameterised" : \
              (base(s) eq "none") ? "score function, no baseline" : \
              (base(s) eq "mean") ? "score function, running-mean baseline" : \
              (base(s) eq "net") ? "score function, NVIL network baseline" : \
              "score function, baseline " . base(s)
colors = "#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #17becf #8c564b #e377c2"
# the rows of one estimator (so that its points are joined), and its value
# where a log axis can show it
rows_of(s) = sprintf("< awk '!/^#/ && $%d \":\" $%d == \"%s\"' %s", cs, cb, s, q(F))
pos(c) = column(c) > 0 ? column(c) : NaN

if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size 960, 900 enhanced font "sans,11" linewidth 1.5
} else {
    set terminal png size 960, 900 enhanced
}
set output P . ".gradvar.png"
name = system("basename -- " . q(P))

set multiplot
set grid xtics ytics mytics lc rgb "#dddddd" lw 1 dt 1
set border 3
set xtics nomirror
set ytics nomirror
set logscale y
set format y "10^{%L}"
set lmargin 12
set rmargin 4
set key outside below center horizontal maxrows 2 noenhanced
set xlabel "epoch (0: the initial parameters)"
if (ne < 12) { set xtics 1 }

set origin 0, 0.45
set size 1, 0.55
set title sprintf("%s: variance of the encoder's gradient estimates, per estimator, over training", name) noenhanced
set ylabel "total variance (sum over the encoder's parameters)" noenhanced
plot for [i = 1:ns] rows_of(word(series, i)) using (column(ce)):(pos(cv)) with linespoints \
     lw 1.5 pt 7 ps 0.6 lc rgb word(colors, (i - 1) % words(colors) + 1) title title_of(word(series, i))

set origin 0, 0
set size 1, 0.45
set title "signal-to-noise ratio |mean|^2 / total variance (higher is better)" noenhanced
set ylabel "SNR" noenhanced
unset key
plot for [i = 1:ns] rows_of(word(series, i)) using (column(ce)):(pos(cr)) with linespoints \
     lw 1.5 pt 7 ps 0.6 lc rgb word(colors, (i - 1) % words(colors) + 1) notitle
unset multiplot
