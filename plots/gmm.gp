# gmm.gp -- a Gaussian mixture: the data coloured by component with each
# component's 1- and 2-sigma ellipses; and the model-selection curves.
#
#   gnuplot -c plots/gmm.gp PREFIX [POINTS]
#
# Reads PREFIX.means.dat (component x1 .. xd), PREFIX.covariances.dat
# (component row x1 .. xd: each Sigma as a matrix; or component x1 .. xd:
# its diagonal, for --cov diag and spherical) and PREFIX.weights.dat, and
# writes PREFIX.gmm.png:
# in the first two coordinates (x1 across, x2 up; the title says so when
# d > 2), each component's mean (a cross) and the ellipses
# (x - mu)^T Sigma^-1 (x - mu) = 1 and = 4 of its marginal in those two
# coordinates (solid and dashed), in the component's colour (black over the
# POINTS, when given); both axes in the same units when the two coordinates'
# spreads are within a factor of 4, else a square plot (the title says so).
# POINTS (optional): the file whose rows PREFIX.latent.dat scores, in the
# same order -- the test file when the run had --test, else DATA (not a
# --split run: its test rows are a subset) -- drawn as dots coloured by the
# latent file's `assigned` column.  Its first two columns are taken (x1/x2 or
# z1/z2 by name when it has a "# " header; comma, tab or space separated),
# and the axes are named by its header when it has one (else x1, x2).
# When PREFIX.select.dat exists (gmm_em --k-range), also PREFIX.select.png:
# ll_train and ll_test per sample against K (left axis), BIC and AIC (right
# axis), the smallest BIC marked.
# Errors (missing file or column, rows that do not match): one line on
# stderr, exit status 1, no PNG written.

if (ARGC < 1 || ARGC > 2) {
    print "gmm.gp: usage: gnuplot -c plots/gmm.gp PREFIX [POINTS]"
    exit status 1
}

colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
q(s) = "'" . s . "'"
readable(f) = system("test -r " . q(f) . " && echo y") eq "y"

P = ARG1
FM = P . ".means.dat"
FC = P . ".covariances.dat"
do for [F in FM . " " . FC] {
    if (!readable(F)) {
        print sprintf("gmm.gp: %s: cannot read the file", F)
        exit status 1
    }
}
hm = system("head -n 1 " . q(FM))
hc = system("head -n 1 " . q(FC))
if (colof(hm, "component") == 0 || colof(hm, "x1") == 0) {
    print sprintf("gmm.gp: %s:1: expected columns 'component x1 .. xd'", FM)
    exit status 1
}
if (colof(hc, "component") == 0 || colof(hc, "x1") == 0) {
    print sprintf("gmm.gp: %s:1: expected columns 'component row x1 .. xd' or 'component x1 .. xd'", FC)
    exit status 1
}
d = words(hm) - 2
K = int(system(sprintf("awk '!/^#/ { n++ } END { print n + 0 }' %s", q(FM))))
if (K < 1) {
    print sprintf("gmm.gp: %s: no components", FM)
    exit status 1
}

colors = "#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf"
do for [i = 1:10] {
    set linetype i lc rgb word(colors, i) lw 2 pt 7
}
set linetype cycle 10

if (d < 2) {
    print sprintf("gmm.gp: %s: d = 1: expected at least two coordinates", FM)
    exit status 1
}

# The awk programs are in single-quoted gnuplot strings (taken literally)
# and contain no single quote, so the shell gets them as they are.
# The ellipses: mu + r L u, u on the unit circle, L L^T the 2 x 2 marginal
# of Sigma_z (Cholesky: a = sqrt(s11), b = s12 / a, c = sqrt(s22 - b^2));
# one block of lines "x y component" an ellipse.
ellprog = 'FNR == 1 { delete c; for (i = 2; i <= NF; i++) c[$i] = i - 1; next } \
FILENAME == ARGV[1] { z = $c["component"]; m1[z] = $c["x1"]; m2[z] = $c["x2"]; if (z > nz) nz = z; next } \
!("row" in c) { z = $c["component"]; s11[z] = $c["x1"]; s12[z] = 0; s22[z] = $c["x2"]; next } \
$c["row"] == 1 { z = $c["component"]; s11[z] = $c["x1"]; s12[z] = $c["x2"] } \
$c["row"] == 2 { z = $c["component"]; s22[z] = $c["x2"] } \
END { for (z = 1; z <= nz; z++) { a = sqrt(s11[z]); b = s12[z] / a; e = s22[z] - b * b; cc = sqrt(e > 0 ? e : 0); \
        for (t = 0; t <= 72; t++) { u = cos(t * 6.283185307179586 / 72); v = sin(t * 6.283185307179586 / 72); \
          printf "%.10g %.10g %d\n", m1[z] + r * a * u, m2[z] + r * (b * u + cc * v), z } \
        print "" } }'
ell(r) = "< awk -v r=" . sprintf("%g", r) . " '" . ellprog . "' " . q(FM) . " " . q(FC)
meansprog = 'NR == 1 { for (i = 2; i <= NF; i++) c[$i] = i - 1; next } { print $c["x1"], $c["x2"], $c["component"] }'
means = "< awk '" . meansprog . "' " . q(FM)
# awk pieces over rows "x y ...": the extents of x and y (m rows) and their print
minmax = "if (!m++) { x0 = x1 = $1; y0 = y1 = $2 } if ($1 < x0) x0 = $1; if ($1 > x1) x1 = $1; if ($2 < y0) y0 = $2; if ($2 > y1) y1 = $2"
extents = "printf \"%.17g %.17g %.17g %.17g\\n\", x0, x1, y0, y1"

# the points, joined row by row with the latent file's `assigned`
havepts = ARGC == 2
if (havepts) {
    FP = ARG2
    FL = P . ".latent.dat"
    do for [F in FP . " " . FL] {
        if (!readable(F)) {
            print sprintf("gmm.gp: %s: cannot read the file", F)
            exit status 1
        }
    }
    hl = system("head -n 1 " . q(FL))
    if (colof(hl, "assigned") == 0) {
        print sprintf("gmm.gp: %s:1: expected a column 'assigned'", FL)
        exit status 1
    }
    ptsprog = 'FILENAME == ARGV[1] { if (FNR == 1) { for (i = 2; i <= NF; i++) if ($i == "assigned") ca = i - 1; next } \
                                      if (!/^#/) a[++na] = $ca; next } \
FNR == 1 && /^#/ { h = $0; sub(/^# */, "", h); nh = split(h, hn, /[ ,\t]+/); \
                   for (i = 1; i <= nh; i++) { if (hn[i] == "x1" || hn[i] == "z1") c1 = i; if (hn[i] == "x2" || hn[i] == "z2") c2 = i } \
                   if (names) { print hn[c1 ? c1 : 1]; print hn[c2 ? c2 : 2]; done = 1; exit } next } \
/^#/ || /^[ \t]*$/ { next } \
{ n = split($0, f, /[ \t]*[,\t][ \t]*|[ \t]+/); if (f[1] == "" && $0 ~ /^ +[^ \t,]/) { for (i = 1; i < n; i++) f[i] = f[i + 1]; n-- } \
  if (!seen++ && f[1] !~ /^[-+.0-9]/) { if (names) { gsub(/"/, "", f[1]); gsub(/"/, "", f[2]); print f[1]; print f[2]; done = 1; exit } next } \
  if (names) { done = 1; exit } \
  np++; u = f[c1 ? c1 : 1]; v = f[c2 ? c2 : 2]; if (np <= na) print (u == "" ? "nan" : u), (v == "" ? "nan" : v), a[np] } \
END { if (done) exit; if (np != na) { printf "gmm.gp: %s has %d rows, %s %d: expected the same rows\n", fp, np, fl, na > "/dev/stderr"; exit 1 } }'
    ptsfiles = " '" . ptsprog . "' " . q(FL) . " " . q(FP)
    pts = "awk -v fp=" . q(FP) . " -v fl=" . q(FL) . ptsfiles
    msg = system(pts . " 2>&1 >/dev/null | head -n 1")
    if (msg ne "") {
        print msg
        exit status 1
    }
    # one pass over the joined rows: how many, how many have both coordinates
    # numbers (the others miss a value and are not drawn), and their extents
    numre = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
    pst = system(pts . " | awk '{ n++ } $1 ~ /" . numre . "/ && $2 ~ /" . numre . "/ { " . minmax . " } END { printf \"%d %d \", n, m; " . extents . " }'")
    npts = int(word(pst, 1))
    ndrawn = int(word(pst, 2))
}

if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size 900,760 enhanced font "sans,11"
} else {
    set terminal png size 900,760 enhanced
}
set output P . ".gmm.png"
name = system("basename -- " . q(P))
which = (d > 2) ? sprintf(", first two of %d coordinates", d) : ""
# Equal units on both axes, so that the ellipses have their true shape, when
# the 2-sigma ellipses span the two coordinates within a factor of 4 of each
# other; else (columns in different units) a square plot, each axis in its
# own units.  Ticks at a 1-2-5 step, at most 8 intervals an axis, over the
# ellipses and the points drawn (ticks.gp: the steps, with the decimals they
# need).
load system("dirname -- " . q(ARG0)) . "/ticks.gp"
sp = system("awk -v r=2 '" . ellprog . "' " . q(FM) . " " . q(FC) . " | awk 'NF == 3 { " . minmax . " } END { " . extents . " }'")
ax0 = word(sp, 1) + 0.0
ax1 = word(sp, 2) + 0.0
ay0 = word(sp, 3) + 0.0
ay1 = word(sp, 4) + 0.0
equal = (ax1 > ax0 && ay1 > ay0 && ax1 - ax0 <= 4 * (ay1 - ay0) && ay1 - ay0 <= 4 * (ax1 - ax0))
if (havepts && ndrawn > 0) {
    ax0 = (word(pst, 3) < ax0) ? word(pst, 3) + 0.0 : ax0
    ax1 = (word(pst, 4) > ax1) ? word(pst, 4) + 0.0 : ax1
    ay0 = (word(pst, 5) < ay0) ? word(pst, 5) + 0.0 : ay0
    ay1 = (word(pst, 6) > ay1) ? word(pst, 6) + 0.0 : ay1
}
if (ax1 > ax0) {
    set xtics tstep(1.1 * (ax1 - ax0))
    set format x tfmt(tstep(1.1 * (ax1 - ax0)))
}
if (ay1 > ay0) {
    set ytics tstep(1.1 * (ay1 - ay0))
    set format y tfmt(tstep(1.1 * (ay1 - ay0)))
}
if (equal) {
    set size ratio -1
} else {
    set size ratio 1
}
ptitle = !havepts ? "" : (ndrawn < npts) ? \
         sprintf("\n%d of %d points coloured by component (the rest miss a coordinate)", ndrawn, npts) : \
         sprintf("\n%d points coloured by component", npts)
set title sprintf("%s: %d components, 1- and 2-sigma ellipses%s%s%s", name, K, which, \
                  equal ? "" : ", axes in their own units", ptitle) noenhanced
# the axes: the names POINTS' header gives the two columns drawn (ptsprog's
# names mode), else x1, x2
xl = "x1"
yl = "x2"
if (havepts) {
    nl = system("awk -v names=1" . ptsfiles)
    cut = strstrt(nl, "\n")
    xl = (cut > 1) ? nl[1:cut - 1] : xl
    yl = (cut > 0 && cut < strlen(nl)) ? nl[cut + 1:strlen(nl)] : yl
}
set xlabel xl noenhanced
set ylabel yl noenhanced
set grid lc rgb "#e0e0e0" lw 1 dt 1
set key outside right top noenhanced
ps = havepts && npts > 5000 ? 0.25 : 0.45
# with the points, the ellipses are black over them (in the points' colour
# they would vanish in the cloud); alone, each in its component's colour
if (havepts) {
    plot "< " . pts using 1:2:3 with points pt 7 ps ps lc variable notitle, \
         ell(1) using 1:2 with lines lw 2 lc rgb "black" title "1 sigma", \
         ell(2) using 1:2 with lines lw 1.5 dt 2 lc rgb "black" title "2 sigma", \
         means using 1:2 with points pt 2 ps 2.5 lw 3 lc rgb "black" notitle, \
         for [z = 1:(K < 30 ? K : 30)] NaN with points pt 7 ps 1.5 lc z title sprintf("component %d", z)
} else {
    plot ell(1) using 1:2:3 with lines lw 2 lc variable notitle, \
         ell(2) using 1:2:3 with lines lw 1.5 dt 2 lc variable notitle, \
         means using 1:2 with points pt 2 ps 2.5 lw 3 lc rgb "black" notitle, \
         for [z = 1:(K < 30 ? K : 30)] NaN with lines lw 3 lc z title sprintf("component %d", z)
}

# ---- the model-selection curves
FS = P . ".select.dat"
if (readable(FS)) {
    hs = system("head -n 1 " . q(FS))
    do for [c in "K ll_train ll_test bic aic"] {
        if (colof(hs, c) == 0) {
            print sprintf("gmm.gp: %s:1: expected a column '%s'", FS, c)
            exit status 1
        }
    }
    ck = colof(hs, "K")
    cb = colof(hs, "bic")
    best = system(sprintf("awk '!/^#/ && (b == \"\" || $%d < b) { b = $%d; k = $%d } END { print k, b }' %s", cb, cb, ck, q(FS)))
    set size noratio
    set output P . ".select.png"
    set title sprintf("%s: model selection over K (smallest BIC at K = %s)", name, word(best, 1)) noenhanced
    set xlabel "K (components)"
    set ylabel "log-likelihood per sample (nats, higher is better)"
    set y2label "BIC, AIC (lower is better)"
    set y2tics nomirror
    set ytics nomirror
    set xtics 1
    set key outside below center horizontal title ""
    plot FS using (column(ck)):(column(colof(hs, "ll_train"))) with linespoints lt 1 title "ll train", \
         FS using (column(ck)):(column(colof(hs, "ll_test"))) with linespoints lt 1 dt 2 title "ll test", \
         FS using (column(ck)):(column(cb)) axes x1y2 with linespoints lt 4 title "BIC", \
         FS using (column(ck)):(column(colof(hs, "aic"))) axes x1y2 with linespoints lt 3 dt 2 title "AIC", \
         "+" using (word(best, 1) + 0):(word(best, 2) + 0) every ::0::0 axes x1y2 with points pt 6 ps 3 lw 2 lc rgb "black" title "smallest BIC"
}
