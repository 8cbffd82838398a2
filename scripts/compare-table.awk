# scripts/compare-table.awk -- the lab's comparison table, as text, from
# OUT/compare.tsv (the shared summary columns of every run, written by
# scripts/lab.sh): one row a model, the continuous models first, then the
# binary ones.  scripts/lab.sh prints it; scripts/readme-table.sh puts it in
# README.md.
#   awk -f scripts/compare-table.awk OUT/compare.tsv
BEGIN { FS = "\t" }
NR == 1 {
  sub(/^# /, "")
  for (i = 1; i <= NF; i++) at[$i] = i
  n = split("model family k n_params ll_train ll_test ll_test_se method seconds", need, " ")
  for (i = 1; i <= n; i++)
    if (!(need[i] in at)) { printf "%s: no column %s\n", FILENAME, need[i] > "/dev/stderr"; bad = 1; exit 1 }
  next
}
{
  how = $(at["method"])
  if (how == "exact-enum") how = "exact enumeration"
  else if (how == "ais") how = sprintf("AIS +- %.2g", $(at["ll_test_se"]))
  else if (how ~ /^iw-/) how = "importance-weighted, K=" substr(how, 4)
  rows[++nr] = sprintf("%-24s %-10s %3s %9s %11.3f %11.3f  %-28s %8.1f", $(at["model"]),
                       $(at["family"]), $(at["k"]), $(at["n_params"]), $(at["ll_train"]),
                       $(at["ll_test"]), how, $(at["seconds"]))
  cont[nr] = $(at["family"]) == "continuous"
}
END {
  if (bad) exit 1
  if (NR < 2) { printf "%s: no rows\n", FILENAME > "/dev/stderr"; exit 1 }
  printf "%-24s %-10s %3s %9s %11s %11s  %-28s %8s\n", "model", "family", "k", "params", "ll train", "ll test", "how", "seconds"
  for (f = 1; f >= 0; f--)
    for (i = 1; i <= nr; i++) if (cont[i] == f) print rows[i]
}
