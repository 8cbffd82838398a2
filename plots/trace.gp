# trace.gp -- convergence of one or several runs on one chart.
#
#   gnuplot -c plots/trace.gp PREFIX [PREFIX2 ... PREFIX9]
#
# Reads PREFIX.trace.dat of each prefix and writes FIRST_PREFIX.trace.png
# (several prefixes: the chart is named after the first one), e.g.
#   gnuplot -c plots/trace.gp out/lgm-exact out/lgm-sampled  -> out/lgm-exact.trace.png
# gnuplot -c passes at most 9 arguments, so at most 9 runs overlay.
#
# Columns are found by the names of the "# " header (docs/developers.md):
#   x-axis   iter (PCA, LGM) or epoch (VAE, RBM), whichever the file has;
#   curves   ll_train, ll_test          log-likelihood per sample (nats);
#            loss_train, loss_test      the VAE's -ELBO, drawn as ELBO = -loss
#                                       so that it shares the axis (and the
#                                       direction "higher is better") with the
#                                       log-likelihoods it bounds from below;
#            pseudo_ll                  the RBM's pseudo-log-likelihood (a
#                                       training-set figure: solid), drawn
#                                       when the ll_* columns are all nan;
#            recon_mse / recon_err      only when a file has none of the above
#                                       (lower is better: on the right-hand
#                                       axis beside other runs' curves, on the
#                                       left when nothing else is drawn).
# A column is drawn only when it has at least one finite value; nan values are
# gaps, and a curve with gaps (or of one value) gets point markers so isolated
# values show.
# Each run has its own colour per quantity; train is solid, test dashed.
# Errors (missing file, no x-axis column, nothing to draw): one line on stderr,
# exit status 1, no PNG written.

if (ARGC < 1) {
    print "trace.gp: usage: gnuplot -c plots/trace.gp PREFIX [PREFIX2 ...]"
    exit status 1
}

# colof(h, name): the gnuplot column number of NAME in header line H
# ("# a b c": a is column 1), 0 when absent.
colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
# shell single-quoting of a path
q(s) = "'" . s . "'"
# finite(file, c): how many rows have a finite value in column c
finite(f, c) = int(system(sprintf("awk '!/^#/ && tolower($%d) !~ /nan|inf/ { n++ } END { print n + 0 }' %s", c, q(f))))
# yext(file, c, sign): "lo hi tlo thi": the range of sign * column c over
# the finite values, and over those after the first 20 % of them (the tail)
yext(f, c, sg) = system(sprintf("awk '!/^#/ && tolower($%d) !~ /nan|inf/ { v[++m] = %d * $%d } END { lo = hi = v[1]; for (i = 1; i <= m; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] } s = int(0.2 * m) + 1; tlo = thi = v[s]; for (i = s; i <= m; i++) { if (v[i] < tlo) tlo = v[i]; if (v[i] > thi) thi = v[i] } printf \"%%.17g %%.17g %%.17g %%.17g %%d\\n\", lo, hi, tlo, thi, m }' %s", c, sg, c, q(f)))
# rowcount(file): data rows
rowcount(f) = int(system(sprintf("awk '!/^#/ { n++ } END { print n + 0 }' %s", q(f))))

colors = "#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #17becf #8c564b #e377c2 #7f7f7f #bcbd22"

# One series a curve: file, x column, y column, sign, title, colour, dash,
# point size, axes.
array SF[64]
array SX[64]
array SY[64]
array SS[64]
array ST[64]
array SC[64]
array SD[64]
array SP[64]
array SA[64]
ns = 0
ngroup = 0
has_ll = 0
has_elbo = 0
has_pseudo = 0
has_recon = 0
xnames = ""

do for [a = 1:ARGC] {
    P = ARGV[a]
    F = P . ".trace.dat"
    if (system("test -r " . q(F) . " && echo y") ne "y") {
        print sprintf("trace.gp: %s: cannot read the file", F)
        exit status 1
    }
    h = system("head -n 1 " . q(F))
    if (word(h, 1) ne "#") {
        print sprintf("trace.gp: %s:1: expected a '# ' header of column names", F)
        exit status 1
    }
    if (rowcount(F) < 1) {
        print sprintf("trace.gp: %s: no data rows", F)
        exit status 1
    }
    xc = colof(h, "iter")
    xn = "iteration"
    if (xc == 0) {
        xc = colof(h, "epoch")
        xn = "epoch"
    }
    if (xc == 0) {
        print sprintf("trace.gp: %s:1: expected a column 'iter' or 'epoch'", F)
        exit status 1
    }
    if (strstrt(xnames, xn) == 0) {
        xnames = (xnames eq "") ? xn : xnames . " / " . xn
    }
    name = system("basename -- " . q(P))
    # the quantities of this file, in order of preference
    c_lltr = colof(h, "ll_train")
    c_llte = colof(h, "ll_test")
    n_ll = (c_lltr > 0 ? finite(F, c_lltr) : 0) + (c_llte > 0 ? finite(F, c_llte) : 0)
    c_lotr = colof(h, "loss_train")
    c_lote = colof(h, "loss_test")
    n_lo = (c_lotr > 0 ? finite(F, c_lotr) : 0) + (c_lote > 0 ? finite(F, c_lote) : 0)
    c_pll = colof(h, "pseudo_ll")
    n_pll = (c_pll > 0 && n_ll == 0) ? finite(F, c_pll) : 0
    nrow = rowcount(F)
    before = ns
    do for [g = 1:3] {
        ctr = (g == 1) ? c_lltr : (g == 2) ? c_lotr : c_pll
        cte = (g == 1) ? c_llte : (g == 2) ? c_lote : 0
        use = (g == 1) ? n_ll : (g == 2) ? n_lo : n_pll
        qn = (g == 1) ? "log-likelihood" : (g == 2) ? "ELBO (= -loss)" : "pseudo-log-likelihood"
        if (use > 0) {
            ngroup = ngroup + 1
            col = word(colors, (ngroup - 1) % words(colors) + 1)
            do for [t = 1:2] {
                c = (t == 1) ? ctr : cte
                nf = (c > 0) ? finite(F, c) : 0
                if (nf > 0) {
                    ns = ns + 1
                    SF[ns] = F
                    SX[ns] = xc
                    SY[ns] = c
                    SS[ns] = (g == 2) ? -1 : 1
                    split = (g == 3) ? "" : (t == 1) ? ", train" : ", test"
                    ST[ns] = name . ": " . qn . split
                    SC[ns] = col
                    SD[ns] = (t == 1) ? 1 : 2
                    SP[ns] = (nf < nrow || nf == 1) ? 0.8 : 0
                    SA[ns] = "x1y1"
                }
            }
            if (g == 1) { has_ll = 1 }
            if (g == 2) { has_elbo = 1 }
            if (g == 3) { has_pseudo = 1 }
        }
    }
    if (ns == before) {
        c = colof(h, "recon_mse")
        if (c == 0) { c = colof(h, "recon_err") }
        nf = (c > 0) ? finite(F, c) : 0
        if (nf > 0) {
            ngroup = ngroup + 1
            ns = ns + 1
            SF[ns] = F
            SX[ns] = xc
            SY[ns] = c
            SS[ns] = 1
            ST[ns] = name . ": reconstruction error " . word(h, c + 1)
            SC[ns] = word(colors, (ngroup - 1) % words(colors) + 1)
            SD[ns] = 1
            SP[ns] = (nf < nrow || nf == 1) ? 0.8 : 0
            SA[ns] = "x1y2"
            has_recon = 1
        }
    }
    if (ns == before) {
        print sprintf("trace.gp: %s: no finite values in ll_train, ll_test, loss_train, loss_test, pseudo_ll, recon_mse or recon_err", F)
        exit status 1
    }
}

# y-axis label from the quantities drawn
yq = ""
if (has_ll) { yq = "log-likelihood" }
if (has_elbo) { yq = (yq eq "") ? "ELBO" : yq . " / ELBO" }
if (has_pseudo) { yq = (yq eq "") ? "pseudo-log-likelihood" : yq . " / pseudo-LL" }

# A second panel zooms on the training curves: its vertical axis is fitted to
# their values after the first 20 % of each run, where the first iterations'
# large changes no longer squash them; there one sees whether a curve still
# rises, falls back or oscillates (exact EM against sampled EM).  Drawn when
# a run has at least 8 points and the zoom is at least 3 times finer.
ylo = 0
yhi = 0
zlo = 0
zhi = 0
nz = 0
nmax = 0
do for [i = 1:ns] {
    if (SA[i] eq "x1y1") {
        e = yext(SF[i], SY[i], SS[i])
        ylo = (i == 1 || word(e, 1) + 0 < ylo) ? word(e, 1) + 0.0 : ylo
        yhi = (i == 1 || word(e, 2) + 0 > yhi) ? word(e, 2) + 0.0 : yhi
        if (SD[i] == 1) {
            zlo = (nz == 0 || word(e, 3) + 0 < zlo) ? word(e, 3) + 0.0 : zlo
            zhi = (nz == 0 || word(e, 4) + 0 > zhi) ? word(e, 4) + 0.0 : zhi
            nmax = (word(e, 5) + 0 > nmax) ? word(e, 5) + 0 : nmax
            nz = nz + 1
        }
    }
}
flat = !(yhi > ylo) # one value: no zoom, and a range of its own below
zoom = (nz > 0 && nmax >= 8 && !flat && (zhi - zlo) * 3 <= (yhi - ylo))
zpad = (zhi > zlo) ? 0.08 * (zhi - zlo) : 1e-3 * (abs(zhi) + 1)

# Ticks of the log-likelihood axes (ticks.gp): a 1-2-5 step, labelled with
# the decimals it needs; the left margin is as wide as the longest label.
# A flat curve (one value) gets a range of its own around the value.
load system("dirname -- " . q(ARG0)) . "/ticks.gp"
yr = flat ? 1e-3 * (abs(yhi) + 1) : yhi - ylo
ystep = tstep(1.06 * yr)
zstep = tstep(zhi - zlo + 2 * zpad)
wide = twide(ylo, yhi, ystep)
if (zoom) { wide = mx(wide, twide(zlo - zpad, zhi + zpad, zstep)) }
if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size 960, (zoom ? 960 : 640) enhanced font "sans,11" linewidth 1.5
} else {
    set terminal png size 960, (zoom ? 960 : 640) enhanced
}
set output ARGV[1] . ".trace.png"

names = ""
do for [a = 1:ARGC] {
    names = names . (a > 1 ? ", " : "") . system("basename -- " . q(ARGV[a]))
}
set xlabel xnames
if (yq ne "") {
    set ylabel yq . " per sample (nats, higher is better)"
    set ytics ystep
    set format y tfmt(ystep)
    if (flat) { set yrange [ylo - yr / 2:yhi + yr / 2] }
} else {
    # reconstruction errors alone: on the left axis
    do for [i = 1:ns] { SA[i] = "x1y1" }
    set ylabel "reconstruction error (lower is better)"
    has_recon = 0
}
if (has_recon) {
    set y2label "reconstruction error (lower is better)"
    set y2tics nomirror
}
set grid xtics ytics lc rgb "#dddddd" lw 1 dt 1
set border 3 + (has_recon ? 8 : 0)
set xtics nomirror
set ytics nomirror
set offsets 0, 0, graph 0.03, graph 0.03
set lmargin (yq ne "") ? mx(12, wide + 4) : 12
set rmargin (has_recon ? 12 : 4)

# one plot element a series (the axes keyword takes no expression: eval);
# the zoom draws the training curves only
cmd = "plot"
zcmd = "plot"
do for [i = 1:ns] {
    el = sprintf("SF[%d] using (column(SX[%d])):(SS[%d] * column(SY[%d])) axes %s with linespoints lw 1.5 lc rgb SC[%d] dt SD[%d] pt 7 ps SP[%d] title ST[%d]", \
                 i, i, i, i, SA[i], i, i, i, i)
    cmd = cmd . (i > 1 ? ", " : " ") . el
    if (SA[i] eq "x1y1" && SD[i] == 1) {
        zcmd = zcmd . (zcmd eq "plot" ? " " : ", ") . el
    }
}
title = "Convergence of " . names . ": train (solid) and test (dashed)"
if (zoom) {
    set multiplot
    set origin 0, 0.42
    set size 1, 0.58
    set title title . "\nthe whole run" noenhanced
    set key outside below center horizontal maxrows 4 noenhanced
    eval cmd
    set origin 0, 0
    set size 1, 0.42
    set title "zoom on the training curves: vertical axis fitted to each run after its first 20 % of points" noenhanced
    unset key
    set ylabel "nats per sample (train)"
    set yrange [zlo - zpad:zhi + zpad]
    set ytics zstep
    set format y tfmt(zstep)
    unset y2tics
    unset y2label
    set border 3
    eval zcmd
    unset multiplot
} else {
    set title title noenhanced
    set key outside below center horizontal maxrows 4 noenhanced
    eval cmd
}
