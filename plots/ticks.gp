# ticks.gp -- tick steps and labels shared by trace.gp and gmm.gp (loaded
# from the calling script's directory; not a plot of its own).
#
# tstep(r): a step of 1, 2 or 5 times a power of ten that cuts a range of
# width r > 0 into at most 8 intervals.  tfmt(st): a format with the
# decimals that step needs, so that no two ticks share a label (gnuplot's
# own labels repeat when the range is tiny against the values).
# twide(lo, hi, st): the width in characters of the longest label.
mx(a, b) = (a > b) ? a : b
p10(r) = 10.0**floor(log10(r / 5.0))
tstep(r) = (r <= 8 * p10(r)) ? p10(r) : (r <= 16 * p10(r)) ? 2 * p10(r) : (r <= 40 * p10(r)) ? 5 * p10(r) : 10 * p10(r)
tfmt(st) = sprintf("%%.%df", (st >= 1) ? 0 : int(-floor(log10(st) + 1e-9)))
twide(lo, hi, st) = mx(strlen(sprintf(tfmt(st), floor(lo / st - 1) * st)), strlen(sprintf(tfmt(st), ceil(hi / st + 1) * st)))
