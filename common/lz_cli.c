/* lz_cli.c -- options, help, input loading, timing (see lz_cli.h). */
#include "lz_cli.h"

#include "lz_kernel.h"
#include "lz_out.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t count_opts(const lz_opt *o)
{
    size_t n = 0;
    while (o[n].name) n++;
    return n;
}

/* "-k, --k K" / "    --completion exact|sampled" */
static void opt_spec(const lz_opt *o, char *buf, size_t cap)
{
    char sh[8] = "    ";
    if (o->short_name) snprintf(sh, sizeof sh, "-%c, ", o->short_name);
    if (o->type == LZ_OPT_FLAG)
        snprintf(buf, cap, "%s--%s", sh, o->name);
    else
        snprintf(buf, cap, "%s--%s %s", sh, o->name, o->arg ? o->arg : "VALUE");
}

/* the i-th word of "a|b|c" into buf */
static int choice_word(const char *choices, int i, char *buf, size_t cap)
{
    const char *p = choices;
    for (int k = 0; k < i; k++) {
        p = strchr(p, '|');
        if (!p) return 0;
        p++;
    }
    size_t n = strcspn(p, "|");
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

static void opt_value(const lz_opt *o, char *buf, size_t cap)
{
    switch (o->type) {
    case LZ_OPT_FLAG: snprintf(buf, cap, "%s", *(int *)o->dest ? "on" : "off"); break;
    case LZ_OPT_INT: snprintf(buf, cap, "%d", *(int *)o->dest); break;
    case LZ_OPT_ULONG: snprintf(buf, cap, "%lu", *(unsigned long *)o->dest); break;
    case LZ_OPT_REAL: snprintf(buf, cap, "%g", *(double *)o->dest); break;
    case LZ_OPT_STR: {
        const char *s = *(const char **)o->dest;
        snprintf(buf, cap, "%s", s ? s : "none");
        break;
    }
    case LZ_OPT_CHOICE:
        if (!choice_word(o->arg, *(int *)o->dest, buf, cap)) snprintf(buf, cap, "?");
        break;
    case LZ_OPT_LIST: {
        const char *s = (const char *)o->dest;
        snprintf(buf, cap, "%s", *s ? s : "none");
        break;
    }
    }
}

/* 1 when the option holds its "unset" marker (lz_cli.h) */
static int opt_unset(const lz_opt *o)
{
    switch (o->type) {
    case LZ_OPT_INT:
    case LZ_OPT_CHOICE: return lz_unset_int(*(int *)o->dest);
    case LZ_OPT_REAL: return lz_unset_real(*(double *)o->dest);
    default: return 0;
    }
}

/* text, word-wrapped to lines of at most 79 columns, every line after the
 * first indented by `indent` columns (the first continues at column `col`);
 * a \x01 is a space that does not break */
static void put_wrapped(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        size_t w = strcspn(p, " ");
        if (!w) break;
        if (col > indent && col + 1 + (int)w > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        for (size_t i = 0; i < w; i++) fputc(p[i] == '\x01' ? ' ' : p[i], f);
        col += (int)w;
        p += w;
    }
    fputc('\n', f);
}

void lz_cli_help(const lz_cli *cli, FILE *f)
{
    fprintf(f, "Usage: %s %s\n\n%s\n\nOptions:\n", cli->prog, cli->synopsis, cli->summary);
    enum { OPT_W = 30, INDENT = 2 + OPT_W + 1 };
    for (const lz_opt *o = cli->opts; o->name; o++) {
        char spec[128], def[128], text[1024];
        opt_spec(o, spec, sizeof spec);
        opt_value(o, def, sizeof def);
        if (o->type != LZ_OPT_FLAG && !opt_unset(o))
            snprintf(text, sizeof text, "%s (default:\x01%s)", o->help, def);
        else /* a flag, or a default the help text states in words (LZ_UNSET_*) */
            snprintf(text, sizeof text, "%s", o->help);
        if (strlen(spec) <= OPT_W)
            fprintf(f, "  %-*s ", OPT_W, spec);
        else
            fprintf(f, "  %s\n%*s", spec, INDENT, "");
        put_wrapped(f, text, INDENT, INDENT);
    }
    fprintf(f, "  %-*s %s\n", OPT_W, "-h, --help", "print this help and exit");
    fprintf(f, "  %-*s %s\n", OPT_W, "    --version", "print the version and exit");
    fprintf(f, "  %-*s %s\n", OPT_W, "    --man", "print the manual page (roff) and exit");
    if (cli->details) fprintf(f, "\n%s", cli->details);
}

/* ---- the manual page and the completion, from the option table ---- */

/* text with roff's specials escaped: a backslash as \e, '-' as \- (a minus,
 * as options are typed), and a leading '.' or apostrophe that would read as
 * a request behind \& */
static void roff_put(FILE *f, const char *s, size_t n, int at_line_start)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        char ch = s[i];
        if (at_line_start && (ch == '.' || ch == '\'')) fputs("\\&", f);
        at_line_start = 0;
        if (ch == '\\')
            fputs("\\e", f);
        else if (ch == '-')
            fputs("\\-", f);
        else if (ch == '\x01')
            fputc(' ', f);
        else
            fputc(ch, f);
    }
}

static void roff_line(FILE *f, const char *s, size_t n)
{
    roff_put(f, s, n, 1);
    fputc('\n', f);
}

/* the upper-case name for .TH */
static void roff_upper(FILE *f, const char *s)
{
    for (; *s; s++) fputc(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s, f);
}

/* The details split into their parts: a line "  PREFIX.NAME ..." starts a
 * file entry and more-indented lines continue it; a line "Examples:" starts
 * the examples; a "Files written..." heading is dropped. */
typedef enum { PART_TEXT, PART_FILE, PART_FILE_MORE, PART_EXAMPLE, PART_SKIP } part;

static part classify(const char *line, size_t n, int *in_examples, int *in_files)
{
    if (n >= 9 && !strncmp(line, "Examples:", 9)) {
        *in_examples = 1;
        return PART_SKIP;
    }
    if (*in_examples) return n ? PART_EXAMPLE : PART_SKIP;
    if (n >= 9 && !strncmp(line, "  PREFIX.", 9)) {
        *in_files = 1;
        return PART_FILE;
    }
    if (*in_files && n > 4 && !strncmp(line, "    ", 4)) return PART_FILE_MORE;
    *in_files = 0;
    if (n >= 13 && !strncmp(line, "Files written", 13)) return PART_SKIP;
    return PART_TEXT;
}

void lz_cli_man(const lz_cli *cli, FILE *f)
{
    const char *d = cli->details ? cli->details : "";
    fputs(".TH ", f);
    roff_upper(f, cli->prog);
    fprintf(f, " 1 \"\" \"latent-zoo %s\" \"latent-zoo manual\"\n", LZ_VERSION);
    /* NAME: the summary on one line */
    fprintf(f, ".SH NAME\n%s \\- ", cli->prog);
    char sum[1024];
    snprintf(sum, sizeof sum, "%s", cli->summary);
    for (char *q = sum; *q; q++)
        if (*q == '\n') *q = ' ';
    roff_put(f, sum, strlen(sum), 0);
    fprintf(f, "\n.SH SYNOPSIS\n.B %s\n", cli->prog);
    roff_line(f, cli->synopsis, strlen(cli->synopsis));
    /* DESCRIPTION: the summary, then the details' text lines as written */
    fputs(".SH DESCRIPTION\n", f);
    roff_line(f, sum, strlen(sum));
    int ex = 0, fl = 0, open = 0;
    for (const char *p = d; *p;) {
        size_t n = strcspn(p, "\n");
        if (classify(p, n, &ex, &fl) == PART_TEXT) {
            /* "...already.  Files written:" ends a sentence with the heading */
            size_t m = n;
            for (size_t q = 0; q + 13 <= n; q++)
                if (!strncmp(p + q, "Files written", 13)) m = q;
            while (m && p[m - 1] == ' ') m--;
            if (!open) fputs(".PP\n.nf\n", f);
            open = 1;
            if (m)
                roff_line(f, p, m);
            else
                fputs("\n", f);
        }
        p += n + (p[n] == '\n');
    }
    if (open) fputs(".fi\n", f);
    /* OPTIONS, each with its default */
    fputs(".SH OPTIONS\n", f);
    for (const lz_opt *o = cli->opts; o->name; o++) {
        fputs(".TP\n", f);
        if (o->short_name) fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", f);
        roff_put(f, o->name, strlen(o->name), 0);
        fputs("\\fR", f);
        if (o->type != LZ_OPT_FLAG) {
            const char *a = o->arg ? o->arg : "VALUE";
            fputs(" \\fI", f);
            roff_put(f, a, strlen(a), 0);
            fputs("\\fR", f);
        }
        fputc('\n', f);
        char def[128];
        opt_value(o, def, sizeof def);
        roff_put(f, o->help, strlen(o->help), 1);
        if (o->type != LZ_OPT_FLAG && !opt_unset(o)) {
            fputs(" (default: ", f);
            roff_put(f, def, strlen(def), 0);
            fputc(')', f);
        }
        fputc('\n', f);
    }
    fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the help and exit\n"
          ".TP\n\\fB\\-\\-version\\fR\nprint the version and the BLAS library, kernel and "
          "threads, and exit\n"
          ".TP\n\\fB\\-\\-man\\fR\nprint this manual page (roff) and exit\n",
          f);
    /* FILES: "  PREFIX.NAME   text" entries and their continuation lines */
    int any = 0;
    ex = fl = 0;
    for (const char *p = d; *p;) {
        size_t n = strcspn(p, "\n");
        part k = classify(p, n, &ex, &fl);
        if (k == PART_FILE || k == PART_FILE_MORE) {
            const char *q = p, *e = p + n;
            while (q < e && *q == ' ') q++;
            if (k == PART_FILE) {
                if (!any) fputs(".SH FILES\n", f);
                any = 1;
                size_t w = strcspn(q, " ");
                if (w > (size_t)(e - q)) w = (size_t)(e - q);
                fputs(".TP\n.I ", f);
                roff_line(f, q, w);
                q += w;
                while (q < e && *q == ' ') q++;
            }
            if (q < e) roff_line(f, q, (size_t)(e - q));
        }
        p += n + (p[n] == '\n');
    }
    /* EXAMPLES: the lines after "Examples:" */
    any = 0;
    ex = fl = 0;
    for (const char *p = d; *p;) {
        size_t n = strcspn(p, "\n");
        if (classify(p, n, &ex, &fl) == PART_EXAMPLE) {
            if (!any) fputs(".SH EXAMPLES\n.nf\n", f);
            any = 1;
            const char *q = p;
            while (q < p + n && *q == ' ') q++;
            roff_line(f, q, (size_t)(p + n - q));
        }
        p += n + (p[n] == '\n');
    }
    if (any) fputs(".fi\n", f);
    /* SEE ALSO: the other programs and the lab */
    static const char *const progs[] = {"gmm_em",   "pca_iter", "lgm_em",
                                        "nlgm_vae", "rbm_cd",   "latent-zoo-lab"};
    fputs(".SH SEE ALSO\n", f);
    int first = 1;
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        if (!strcmp(progs[i], cli->prog)) continue;
        fputs(first ? ".BR " : ",\n.BR ", f);
        roff_put(f, progs[i], strlen(progs[i]), 0);
        fputs(" (1)", f);
        first = 0;
    }
    fputs("\n.PP\nThe mathematics of each model, next to the functions that compute it, is in "
          "the documentation installed with the programs, share/doc/latent\\-zoo/docs.\n",
          f);
}

void lz_cli_completion(const lz_cli *cli, FILE *f)
{
    fprintf(f, "# bash completion of %s (generated from its option table)\n", cli->prog);
    fprintf(
        f,
        "_lz_%s()\n{\n    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n",
        cli->prog);
    fputs("    case $prev in\n", f);
    for (const lz_opt *o = cli->opts; o->name; o++) {
        if (o->type == LZ_OPT_FLAG) continue;
        fputs("    ", f);
        if (o->short_name) fprintf(f, "-%c|", o->short_name);
        fprintf(f, "--%s)\n", o->name);
        if (o->type == LZ_OPT_CHOICE) {
            /* the choices */
            fputs("        COMPREPLY=($(compgen -W \"", f);
            for (const char *c = o->arg; *c; c++) fputc(*c == '|' ? ' ' : *c, f);
            fputs("\" -- \"$cur\"))\n        return ;;\n", f);
        } else if (o->type == LZ_OPT_STR) {
            /* a file (or a word: the file names do no harm) */
            fputs("        COMPREPLY=($(compgen -f -- \"$cur\"))\n        return ;;\n", f);
        } else {
            fputs("        return ;;\n", f); /* a number */
        }
    }
    fputs("    esac\n    if [[ $cur == -* ]]; then\n        COMPREPLY=($(compgen -W \"", f);
    for (const lz_opt *o = cli->opts; o->name; o++) {
        if (o->short_name) fprintf(f, "-%c ", o->short_name);
        fprintf(f, "--%s ", o->name);
    }
    fputs("-h --help --version --man\" -- \"$cur\"))\n        return\n    fi\n"
          "    COMPREPLY=($(compgen -f -- \"$cur\"))\n}\n",
          f);
    fprintf(f, "complete -o filenames -F _lz_%s %s\n", cli->prog, cli->prog);
}

void lz_cli_version(const lz_cli *cli, FILE *f)
{
    fprintf(f, "%s (latent-zoo) %s\n", cli->prog, LZ_VERSION);
    /* what a run with the default --threads 0 (one per core) uses */
    lz_print_blas(f, 0, cli->blas_in_omp ? lz_num_cores() : 0);
}

void lz_print_blas(FILE *f, int threads, int omp_threads)
{
    char buf[512];
    lz_blas_describe(buf, sizeof buf, threads, omp_threads);
    fprintf(f, "BLAS: %s\n", buf);
}

static lz_status set_value(const lz_cli *cli, const lz_opt *o, const char *v, lz_error *err)
{
    char *end;
    errno = 0;
    const char *dash = o->short_name ? "-" : "--";
    char nm[64];
    if (o->short_name)
        snprintf(nm, sizeof nm, "%c", o->short_name);
    else
        snprintf(nm, sizeof nm, "%s", o->name);
    switch (o->type) {
    case LZ_OPT_FLAG: *(int *)o->dest = 1; return LZ_OK;
    case LZ_OPT_INT: {
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno || x <= INT_MIN || x > INT_MAX) /* INT_MIN: LZ_UNSET_INT */
            return lz_fail(err, LZ_EINVAL, "option %s%s: expected an integer, got '%s'", dash, nm,
                           v);
        *(int *)o->dest = (int)x;
        return LZ_OK;
    }
    case LZ_OPT_ULONG: {
        const char *s = v;
        while (*s == ' ') s++;
        unsigned long x = strtoul(s, &end, 10);
        if (*s == '-' || end == s || *end || errno)
            return lz_fail(err, LZ_EINVAL, "option %s%s: expected a non-negative integer, got '%s'",
                           dash, nm, v);
        *(unsigned long *)o->dest = x;
        return LZ_OK;
    }
    case LZ_OPT_REAL: {
        double x = lz_strtod(v, &end);
        if (end == v || *end || !isfinite(x))
            return lz_fail(err, LZ_EINVAL, "option %s%s: expected a finite number, got '%s'", dash,
                           nm, v);
        *(double *)o->dest = x;
        return LZ_OK;
    }
    case LZ_OPT_STR:
        /* the reader takes one --missing token: a second is refused, not
         * left to replace the first (which then read as data) */
        if (!strcmp(o->name, "missing") && *(const char **)o->dest)
            return lz_fail(err, LZ_EINVAL,
                           "option %s%s '%s' after '%s': expected one token (an empty field, NA, "
                           "NaN and ? are always missing)",
                           dash, nm, v, *(const char **)o->dest);
        *(const char **)o->dest = v;
        return LZ_OK;
    case LZ_OPT_LIST: {
        char *l = (char *)o->dest;
        size_t n = strlen(l), m = strlen(v);
        if (!m || n + (n > 0) + m >= LZ_OPT_LIST_MAX)
            return lz_fail(err, LZ_EINVAL,
                           "option %s%s '%s': expected a list of at most %d characters", dash, nm,
                           v, LZ_OPT_LIST_MAX - 1);
        if (n) l[n++] = ',';
        memcpy(l + n, v, m + 1);
        return LZ_OK;
    }
    case LZ_OPT_CHOICE: {
        char w[64];
        for (int i = 0; choice_word(o->arg, i, w, sizeof w); i++)
            if (!strcmp(w, v)) {
                *(int *)o->dest = i;
                return LZ_OK;
            }
        return lz_fail(err, LZ_EINVAL, "option %s%s: expected one of %s, got '%s'", dash, nm,
                       o->arg, v);
    }
    }
    (void)cli;
    return LZ_OK;
}

int lz_cli_parse(const lz_cli *cli, int argc, char **argv, int *first_pos, lz_error *err)
{
    /* --help and --version win over everything, before any value is set, so
     * the help shows the defaults */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return LZ_CLI_HELP;
        if (!strcmp(argv[i], "--version")) return LZ_CLI_VERSION;
        if (!strcmp(argv[i], "--man")) return LZ_CLI_MAN;
        if (!strcmp(argv[i], "--bash-completion")) return LZ_CLI_COMPLETION;
    }
    size_t n = count_opts(cli->opts);
    struct option *lo = calloc(n + 1, sizeof *lo);
    char *sh = malloc(2 * n + 2);
    if (!lo || !sh) {
        free(lo);
        free(sh);
        lz_fail(err, LZ_ENOMEM, "%s: out of memory", cli->prog);
        return -1;
    }
    size_t ns = 0;
    sh[ns++] = ':'; /* report a missing value as ':' */
    for (size_t i = 0; i < n; i++) {
        const lz_opt *o = &cli->opts[i];
        lo[i].name = o->name;
        lo[i].has_arg = o->type == LZ_OPT_FLAG ? no_argument : required_argument;
        lo[i].flag = NULL;
        lo[i].val = 256 + (int)i;
        if (o->short_name) {
            sh[ns++] = (char)o->short_name;
            if (o->type != LZ_OPT_FLAG) sh[ns++] = ':';
        }
    }
    sh[ns] = '\0';
    opterr = 0;
    optind = 1;
    int rc = LZ_CLI_RUN, c, li;
    while (rc == LZ_CLI_RUN && (c = getopt_long(argc, argv, sh, lo, &li)) != -1) {
        const lz_opt *o = NULL;
        if (c >= 256)
            o = &cli->opts[c - 256];
        else if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            char shortbuf[3] = {'-', (char)optopt, 0};
            if (optopt && strncmp(bad, "--", 2)) bad = shortbuf;
            lz_fail(err, LZ_EINVAL,
                    c == '?' ? "unknown option '%s' (see %s --help)"
                             : "option '%s' needs a value (see %s --help)",
                    bad, cli->prog);
            rc = -1;
            break;
        } else {
            for (size_t i = 0; i < n; i++)
                if (cli->opts[i].short_name == c) o = &cli->opts[i];
        }
        if (!o || set_value(cli, o, optarg, err)) rc = -1;
    }
    free(lo);
    free(sh);
    if (rc != LZ_CLI_RUN) return rc;
    size_t npos = (size_t)(argc - optind);
    if (npos < cli->min_pos) {
        lz_fail(err, LZ_EINVAL, "missing argument: usage: %s %s (see %s --help)", cli->prog,
                cli->synopsis, cli->prog);
        return -1;
    }
    if (npos > cli->max_pos) {
        lz_fail(err, LZ_EINVAL, "unexpected argument '%s': usage: %s %s",
                argv[optind + cli->max_pos], cli->prog, cli->synopsis);
        return -1;
    }
    *first_pos = optind;
    return LZ_CLI_RUN;
}

/* 1 when -o PREFIX would name hidden files or a directory: "", "dir/",
 * "dir/.", ".."; *sugg (cap) <- a prefix that would do, "dir/lgm" */
static int bad_prefix(const char *o, const char *def, char *sugg, size_t cap)
{
    size_t n = strlen(o);
    const char *b = strrchr(o, '/');
    b = b ? b + 1 : o;
    const char *db = def ? strrchr(def, '/') : NULL;
    db = db ? db + 1 : def ? def : "run";
    if (n == 0)
        snprintf(sugg, cap, "%s", def ? def : "out/run");
    else if (o[n - 1] == '/')
        snprintf(sugg, cap, "%s%s", o, db);
    else if (!strcmp(b, ".") || !strcmp(b, ".."))
        snprintf(sugg, cap, "%s/%s", o, db);
    else
        return 0;
    return 1;
}

int lz_fits_memory(double bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages <= 0 || size <= 0 || bytes <= (double)pages * (double)size;
}

size_t lz_default_k(size_t d, size_t want) { return d > want ? want : d > 1 ? d - 1 : 1; }

lz_status lz_check_n_samples(int n, lz_error *err)
{
    if (n < 0 || n > 1000000)
        return lz_fail(err, LZ_EINVAL, "--n-samples %d: expected 0 <= N <= 1000000", n);
    return LZ_OK;
}

/* the program's name, for lz_load_inputs's messages */
static const char *g_prog = "this program";

int lz_cli_start(const lz_cli *cli, const lz_common_opts *co, int argc, char **argv,
                 const char **data_path)
{
    g_prog = cli->prog;
    /* before anything else: the process may be executed again with another
     * BLAS kernel (lz_kernel.h) */
    lz_kernel_startup(argv, cli->omp_passive);
    lz_fpe_trap();
    char sugg[512];
    lz_error err;
    lz_error_clear(&err);
    int first = 0;
    *data_path = NULL;
    int rc = lz_cli_parse(cli, argc, argv, &first, &err);
    if (rc == LZ_CLI_HELP) {
        lz_cli_help(cli, stdout);
        return 0;
    }
    if (rc == LZ_CLI_VERSION) {
        lz_cli_version(cli, stdout);
        return 0;
    }
    if (rc == LZ_CLI_MAN) {
        lz_cli_man(cli, stdout);
        return 0;
    }
    if (rc == LZ_CLI_COMPLETION) {
        lz_cli_completion(cli, stdout);
        return 0;
    }
    if (rc == LZ_CLI_RUN) {
        *data_path = first < argc ? argv[first] : NULL;
        lz_out_protect(*data_path);
        lz_out_protect(co->test);
        lz_out_protect(co->load);
        const char *in = co->save ? lz_out_input_at(co->save) : NULL;
        if (!*data_path && !co->load)
            lz_fail(&err, LZ_EINVAL,
                    "missing argument DATA (or --load MODEL): usage: %s %s (see %s --help)",
                    cli->prog, cli->synopsis, cli->prog);
        else if (co->threads < 0 || co->threads > 1024)
            lz_fail(&err, LZ_EINVAL, "--threads %d: expected 0 <= N <= 1024 (0: one per core)",
                    co->threads);
        else if (co->output && bad_prefix(co->output, co->default_output, sugg, sizeof sugg))
            lz_fail(&err, LZ_EINVAL, "-o '%s': expected a prefix such as %s (files PREFIX.NAME)",
                    co->output, sugg);
        else if (co->save && (!*co->save || co->save[strlen(co->save) - 1] == '/'))
            lz_fail(&err, LZ_EINVAL, "--save '%s': expected a file name for the model", co->save);
        else if (in)
            lz_fail(&err, LZ_EINVAL,
                    "--save %s: the same file as the input %s: expected a new file name for the "
                    "model",
                    co->save, in);
        else {
            lz_out_set_threads(co->threads);
            return -1;
        }
    }
    lz_die_msg(cli->prog, &err);
    return 1;
}

void lz_common_defaults(lz_common_opts *c, const char *default_prefix)
{
    memset(c, 0, sizeof *c);
    c->output = default_prefix;
    c->default_output = default_prefix;
    c->label_col = "none";
    c->seed = 1;
}

lz_status lz_load_inputs(const lz_common_opts *c, const char *path, size_t min_rows,
                         lz_data **train, lz_data **test, lz_error *err)
{
    *train = *test = NULL;
    enum { MAX_SKIP = 64 };
    int skip[MAX_SKIP];
    const char *skip_name[MAX_SKIP];
    char skip_buf[sizeof c->skip_col]; /* the names point into it */
    memcpy(skip_buf, c->skip_col, sizeof skip_buf);
    lz_read_opts ro = {.label_col = LZ_LABEL_NONE,
                       .min_rows = min_rows,
                       .missing = c->missing,
                       .skip = skip,
                       .skip_name = skip_name};
    lz_status st = lz_parse_label_col(c->label_col, &ro.label_col, err);
    ro.label_name = ro.label_col == LZ_LABEL_NAME ? c->label_col : NULL;
    if (!st && skip_buf[0])
        st = lz_parse_skip_cols(skip_buf, skip, skip_name, MAX_SKIP, &ro.n_skip, err);
    if (st) return st;
    if (c->test && c->split > 0)
        return lz_fail(err, LZ_EINVAL, "--test and --split: give one or the other");
    if (c->split < 0 || c->split >= 1)
        return lz_fail(err, LZ_EINVAL, "--split %.15g: expected a fraction in [0, 1)", c->split);
    if (c->split > 0 && !path) return lz_fail(err, LZ_EINVAL, "--split needs DATA to split");
    if (path && (st = lz_data_read(path, &ro, train, err))) return st;
    /* under --load, DATA is scored, not fitted: no moments check it */
    if (path && c->load && (st = lz_data_check_magnitude(*train, err))) {
        lz_data_free(*train);
        *train = NULL;
        return st;
    }
    if (c->test) {
        lz_read_opts to = ro;
        to.min_rows = 1;
        /* columns named by --label-col / --skip-col: the ones DATA's header
         * gave them, by number, so that a test file needs no header */
        int tskip[MAX_SKIP];
        if (*train && (*train)->n_fields) {
            const lz_data *tr = *train;
            if (ro.label_col == LZ_LABEL_NAME) to.label_col = tr->label_field + 1;
            size_t ns = 0; /* field[] ascends: one pass over it */
            for (size_t j = 1, q = 0; j <= tr->n_fields && ns < MAX_SKIP; j++) {
                while (q < tr->d && tr->field[q] < j) q++;
                int kept = (int)j - 1 == tr->label_field || (q < tr->d && tr->field[q] == j);
                if (!kept) tskip[ns++] = (int)j;
            }
            to.skip = tskip;
            to.n_skip = ns;
            to.skip_name = NULL;
        }
        st = lz_data_read(c->test, &to, test, err);
        if (!st && *train) st = lz_data_check_compat(*train, *test, err);
        if (!st) st = lz_data_check_magnitude(*test, err);
        size_t n_new = 0;
        if (!st && *train) st = lz_data_align_labels(*train, *test, &n_new, err);
        if (!st && n_new) {
            /* the run says so: codes past the training set's */
            printf("note: %s has %zu class%s not in %s:", c->test, n_new, n_new == 1 ? "" : "es",
                   path);
            for (size_t q = (*train)->n_classes - n_new; q < (*train)->n_classes; q++)
                printf(" %s (%zu)", (*train)->label_names[q], q);
            printf("\n");
        }
    } else if (c->split > 0) {
        lz_data *all = *train;
        *train = NULL;
        st = lz_data_split(all, c->split, 0, train, test, err);
        lz_data_free(all);
        if (!st && (*train)->n < min_rows)
            st = lz_fail(err, LZ_EINVAL,
                         "%s: --split %.15g leaves %zu training rows: expected at least %zu", path,
                         c->split, (*train)->n, min_rows);
    }
    if (!st && !c->allow_missing) st = lz_data_require_complete(*train, g_prog, err);
    if (!st && !c->allow_missing) st = lz_data_require_complete(*test, g_prog, err);
    if (st) {
        lz_data_free(*train);
        lz_data_free(*test);
        *train = *test = NULL;
    }
    return st;
}

void lz_note_spread(const lz_data *data, const double *var, const char *what)
{
    size_t hi, lo;
    double r = lz_sd_spread(data->d, var, &hi, &lo);
    if (!(r > LZ_SPREAD_NOTE)) return;
    char a[160], b[160];
    printf("note: the columns' standard deviations span a factor %.3g (%s largest, %s smallest): "
           "%s works in the data's units and fits the largest columns; if the columns are in "
           "different units, standardise them first\n",
           r, lz_data_colname(data, hi, a, sizeof a), lz_data_colname(data, lo, b, sizeof b), what);
}

void lz_note_constant(const lz_data *data, const double *var)
{
    size_t n = 0, first = 0;
    for (size_t j = data->d; j-- > 0;)
        if (var[j] == 0) {
            n++;
            first = j;
        }
    if (!n) return;
    char a[160], more[64] = "";
    if (n > 1) snprintf(more, sizeof more, " and %zu more column%s", n - 1, n > 2 ? "s" : "");
    printf("note: %s%s %s constant in the training rows (a spread at or below %g of a column's "
           "largest magnitude counts as rounding): standardised by |mean| (1 for a column of "
           "0s), a convention that sets %s share of ll/N in the data's units; --skip-col leaves "
           "a column of text data out\n",
           lz_data_colname(data, first, a, sizeof a), more, n > 1 ? "are" : "is", LZ_VAR_RTOL,
           n > 1 ? "their" : "its");
}

void lz_die_msg(const char *prog, const lz_error *err)
{
    fprintf(stderr, "%s: %s\n", prog, err && err->msg[0] ? err->msg : "failed");
}
