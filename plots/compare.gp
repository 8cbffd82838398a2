# compare.gp -- the comparison table as bars: train and test log-likelihood
# per sample of every model, one panel per family.
#
#   gnuplot -c plots/compare.gp [TABLE_OR_PREFIX ...]
#
# Each argument is either the path of a table (an existing file, e.g.
# out/compare.tsv, which `make lab` writes) or a run's PREFIX, read as
# PREFIX.summary.tsv (what every program writes).  Several arguments are
# read as one table, rows in order (at most 9: gnuplot -c passes 9).  No
# argument: out/compare.tsv.
# Output, named after the first argument: a table FILE.tsv gives FILE.png
# (out/compare.tsv -> out/compare.png), a PREFIX gives PREFIX.compare.png.
# Columns are found in each file by the names of its "# " header (the shared
# summary columns of docs/developers.md; tabs or spaces):
#   model family k ll_train ll_test ll_test_se method
# One panel per family, continuous (densities on R^d) first, then binary
# (probabilities on {0,1}^d), then any other: their nats are not comparable.
# In a panel, one pair of bars a model, in table order: ll_train (light) and
# ll_test (dark), from 0 to the value, the value written at the end of each
# bar; an error bar of +- ll_test_se on ll_test when ll_test_se is finite and
# not 0 (AIS estimates).  Optional columns ll_test_lower and ll_test_upper
# (the RBM's bracket: reverse AIS below, AIS above, stochastic bounds on the
# test log-likelihood): where both are finite, a green interval from one to
# the other on the ll_test bar, and its ends written under the value.  Under
# each model: its method and k.  A nan value has no bar and is marked "n/a".
# Errors (missing file, missing column, no rows): one line on stderr, exit
# status 1, no PNG written.

q(s) = "'" . s . "'"
colof(h, name) = sum [i = 2:words(h)] (word(h, i) eq name ? i - 1 : 0)
isfile(f) = system("test -f " . q(f) . " && echo y") eq "y"

array IN[9]
if (ARGC == 0) {
    nin = 1
    IN[1] = "out/compare.tsv"
    out = "out/compare.png"
} else {
    nin = ARGC
    do for [a = 1:ARGC] {
        IN[a] = isfile(ARGV[a]) ? ARGV[a] : ARGV[a] . ".summary.tsv"
    }
    if (isfile(ARGV[1])) {
        f = ARGV[1]
        n = strlen(f)
        out = ((n > 4 && f[n - 3:n] eq ".tsv") ? f[1:n - 4] : f) . ".png"
    } else {
        out = ARGV[1] . ".compare.png"
    }
}

# the columns each file must have, checked by name
need = "model family k ll_train ll_test ll_test_se method"
files = ""
do for [a = 1:nin] {
    F = IN[a]
    if (system("test -r " . q(F) . " && echo y") ne "y") {
        print sprintf("compare.gp: %s: cannot read the file", F)
        exit status 1
    }
    h = system("head -n 1 " . q(F))
    if (word(h, 1) ne "#") {
        print sprintf("compare.gp: %s:1: expected a '# ' header of column names", F)
        exit status 1
    }
    do for [j = 1:words(need)] {
        if (colof(h, word(need, j)) == 0) {
            print sprintf("compare.gp: %s:1: expected a column '%s' (the shared summary columns: %s)", F, word(need, j), need)
            exit status 1
        }
    }
    files = files . " " . q(F)
}

# norm: every input's rows with the columns above, found by the names of
# each file's header, in the order of `need`, so that the plot reads this
# stream as column 1 = model ... 7 = method; then 8, 9, 10 = 1 when ll_train,
# ll_test, ll_test_se are finite numbers, else 0 and the value is written 0
# (gnuplot would drop the whole row of a plot element that reads a nan);
# then 11, 12 = ll_test_lower, ll_test_upper and 13 = 1 when both are finite
# (0, 0, 0 when the file has no such columns).  -v fam keeps one family.
norm = "function num(v) { return v ~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/ }" . \
       " FNR == 1 { delete c; for (i = 2; i <= NF; i++) c[$i] = i - 1; next } /^#/ { next }" . \
       " fam == \"\" || $c[\"family\"] == fam { a = $c[\"ll_train\"]; b = $c[\"ll_test\"]; e = $c[\"ll_test_se\"];" . \
       " lo = (\"ll_test_lower\" in c) ? $c[\"ll_test_lower\"] : \"nan\"; up = (\"ll_test_upper\" in c) ? $c[\"ll_test_upper\"] : \"nan\";" . \
       " br = num(lo) && num(up);" . \
       " print $c[\"model\"], $c[\"family\"], $c[\"k\"], num(a) ? a : 0, num(b) ? b : 0, num(e) ? e : 0," . \
       " $c[\"method\"], num(a), num(b), num(e), br ? lo : 0, br ? up : 0, br }"
stream(fam) = sprintf("awk -v fam=%s '%s' %s", fam, norm, files)

# the families present, continuous and binary first
fams = system(stream("''") . " | awk '{ print ($2 == \"continuous\" ? 1 : $2 == \"binary\" ? 2 : 3), $2 }' | sort -k1,1n -k2,2 -u | awk '{ printf \"%s \", $2 }'")
nf = words(fams)
if (nf == 0) {
    print sprintf("compare.gp: %s: no rows", IN[1])
    exit status 1
}

if (strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0) {
    set terminal pngcairo size 1000, 40 + 440 * nf noenhanced font "sans,11"
} else {
    set terminal png size 1000, 40 + 440 * nf noenhanced
}
set output out

famtitle(f) = (f eq "continuous") ? "continuous models (densities on R^d): log-density per sample" : \
              (f eq "binary") ? "binary models (probabilities on {0,1}^d): log-probability per sample" : \
              f . " models: log-likelihood per sample"
set style fill solid 1.0 border -1
set boxwidth 0.38
set xtics nomirror scale 0 font ",10"
set ytics nomirror
set grid ytics lc rgb "#dddddd" lw 1 dt 1
set border 3
set xzeroaxis lt -1 lw 1
set key outside below center horizontal maxrows 2
set ylabel "nats per sample (higher is better)"
set lmargin 10
set rmargin 3
set bmargin 5

# a model name wider than its slot under the bars is broken after its last
# hyphen that fits, or at the slot's width when none does (neighbouring names
# ran together into one word); nlines counts a wrapped name's lines, for the
# bottom margin
lasthy(s, i) = (i < 1) ? 0 : (s[i:i] eq "-") ? i : lasthy(s, i - 1)
cut(s, w) = (lasthy(s, w) > 0) ? lasthy(s, w) : w
wrap(s, w) = (strlen(s) <= w) ? s : s[1:cut(s, w)] . "\n" . wrap(s[cut(s, w) + 1:strlen(s)], w)
nlines(s) = (strstrt(s, "\n") > 0) ? 1 + nlines(s[strstrt(s, "\n") + 1:strlen(s)]) : 1

set multiplot layout nf, 1 title "Model comparison: log-likelihood per sample, train and test (densities and probabilities are not comparable)"
do for [fi = 1:nf] {
    fam = word(fams, fi)
    src = "< " . stream(fam)
    # rows and value range of the panel (finite ll_train, ll_test), for the
    # placement of the value labels
    st = system(stream(fam) . " | awk '{ n++; if ($9 && $10 && $6 > 0) nse++; if ($13) nbr++; for (i = 4; i <= 5; i++) if ($(i + 4)) { v = $i + 0; if (!m || v < lo) lo = v; if (!m || v > hi) hi = v; m++ } if ($13) for (i = 11; i <= 12; i++) { v = $i + 0; if (!m || v < lo) lo = v; if (!m || v > hi) hi = v; m++ } } END { print n + 0, lo + 0, hi + 0, nse + 0, nbr + 0 }'")
    nm = int(word(st, 1))
    lo = word(st, 2) + 0.0
    hi = word(st, 3) + 0.0
    nse = int(word(st, 4))
    nbr = int(word(st, 5))
    wname = (nm > 0) ? int(900.0 / nm / 8.5) : 40 # characters a model's slot holds
    wname = (wname < 6) ? 6 : wname
    mnames = system(stream(fam) . " | awk '{ print $1 }'")
    ml = 1
    do for [mi = 1:words(mnames)] {
        k = nlines(wrap(word(mnames, mi), wname))
        ml = (k > ml) ? k : ml
    }
    set bmargin 4 + ml
    lo = (lo > 0) ? 0 : lo
    hi = (hi < 0) ? 0 : hi
    span = (hi > lo) ? hi - lo : 1
    dy = 0.05 * span
    set yrange [lo - ((nse > 0 ? 3.5 : 2.5) + (nbr > 0 ? 3 : 0)) * dy:hi + 2.5 * dy]
    set xrange [-0.7:nm - 0.3]
    set title famtitle(fam)
    # the value at the end of each bar (with its standard error when
    # estimated), away from 0; "n/a" where not computed
    # (the error on a line of its own, so that the labels of neighbouring
    # bars do not run into each other)
    se(i) = ($10 > 0 && $6 > 0) ? sprintf("\n+/- %.2g", $6) : ""
    # the bracket's ends, under the value (reverse AIS .. AIS)
    br(i) = ($13 > 0) ? sprintf("\n[%.2f, %.2f]", $11, $12) : ""
    # the label's end of the bar: the bar's, or the bracket's end beyond it
    tip(i) = ($13 > 0) ? ($5 < 0 ? ($11 < $5 ? $11 : $5) : ($12 > $5 ? $12 : $5)) : $5
    plot src using ($0 - 0.2):($8 > 0 ? $4 : NaN):xtic(sprintf("%s\n%s, k=%s", wrap(strcol(1), wname), strcol(7), strcol(3))) \
             with boxes lc rgb "#9ecae1" title "train", \
         src using ($0 + 0.2):($9 > 0 ? $5 : NaN) with boxes lc rgb "#2171b5" title "test", \
         src using ($0 + 0.2):(($9 > 0 && $10 > 0 && $6 > 0) ? $5 - $6 : NaN):(0):(2 * $6) \
             with vectors heads size screen 0.008, 90 lc rgb "#e6550d" lw 2 title (nse > 0 ? "test +/- 1 standard error (estimates)" : ""), \
         src using ($0 + 0.29):($13 > 0 ? $11 : NaN):(0):($12 - $11) \
             with vectors heads size screen 0.012, 90 lc rgb "#31a354" lw 4 title (nbr > 0 ? "test bracket: reverse AIS .. AIS" : ""), \
         src using ($0 - 0.2):($8 > 0 ? $4 + ($4 < 0 ? -dy : dy) : -dy):($8 > 0 ? sprintf("%.1f", $4) : "n/a") \
             with labels font ",9" notitle, \
         src using ($0 + 0.2):($9 > 0 ? tip(0) + ($5 < 0 ? -dy : dy) + (($10 > 0 && $6 > 0) ? ($5 < 0 ? -1 : 1) * (0.6 * dy + $6) : 0) + ($13 > 0 ? ($5 < 0 ? -0.6 : 0.6) * dy : 0) : -dy):($9 > 0 ? sprintf("%.1f", $5) . se(0) . br(0) : "n/a") \
             with labels font ",9" notitle
}
unset multiplot
