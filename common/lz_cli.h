/* lz_cli.h -- what every program's main() shares: options, help, loading the
 * data named on the command line, timing and progress lines.
 *
 * Options are declared once, in a table; the same table drives parsing
 * (getopt_long), the --help text (every option with its default, taken from
 * the variable before parsing) and the check that values parse.  Range
 * checks belong to each model's check_config.
 *
 * This module is the user interface: it is the one part of common/ whose
 * functions print (help, progress), and only main() calls them.
 */
#ifndef LZ_CLI_H
#define LZ_CLI_H

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "lz_data.h"
#include "lz_error.h"
#include "lz_unset.h"

#ifndef LZ_VERSION
#define LZ_VERSION "0.0.0"
#endif

typedef enum {
    LZ_OPT_FLAG,   /* int*: set to 1; takes no value                      */
    LZ_OPT_INT,    /* int*                                                */
    LZ_OPT_ULONG,  /* unsigned long*                                      */
    LZ_OPT_REAL,   /* double*                                             */
    LZ_OPT_STR,    /* const char**: points into argv                      */
    LZ_OPT_CHOICE, /* int*: index of the value in arg ("exact|sampled")   */
    LZ_OPT_LIST    /* char[LZ_OPT_LIST_MAX]: each use appends ",VALUE"    */
} lz_opt_type;

/* Options whose default depends on other options hold LZ_UNSET_INT /
 * LZ_UNSET_REAL until resolved (lz_unset.h); --help then prints their help
 * text, which states the default in words. */

#define LZ_OPT_LIST_MAX 256

typedef struct {
    const char *name; /* long name, without "--"; NULL ends a table       */
    int short_name;   /* e.g. 'k', or 0                                   */
    lz_opt_type type;
    void *dest;
    const char *arg;  /* value's name in the help ("K"), or the choices   */
    const char *help; /* one line                                         */
} lz_opt;

typedef struct {
    const char *prog;        /* "lgm_em"                                        */
    const char *synopsis;    /* "[options] DATA"                                */
    const char *summary;     /* one line: what the program does                 */
    const char *details;     /* text after the options (files written), or NULL */
    const lz_opt *opts;      /* table ending with {0}                           */
    size_t min_pos, max_pos; /* how many positional arguments                */
    int blas_in_omp;         /* 1: the program runs its own OpenMP threads, each  */
                             /* calling single-threaded BLAS (rbm_cd)            */
    int omp_passive;         /* 1: its OpenMP threads sleep while they wait      */
                             /* (lz_kernel_startup; pca_iter's EM)               */
} lz_cli;

enum { LZ_CLI_RUN = 0, LZ_CLI_HELP = 1, LZ_CLI_VERSION = 2, LZ_CLI_MAN = 3, LZ_CLI_COMPLETION = 4 };

/* Parse argv.  Returns LZ_CLI_RUN, LZ_CLI_HELP or LZ_CLI_VERSION (the caller
 * prints and exits 0), or -1 with err set ("lgm_em: -k 'x': expected an
 * integer").  *first_pos <- index in argv of the first positional argument. */
int lz_cli_parse(const lz_cli *cli, int argc, char **argv, int *first_pos, lz_error *err);

/* The manual page: synopsis, summary, every option with its default. */
void lz_cli_help(const lz_cli *cli, FILE *f);

/* The manual page in roff (man(7)), from the same table as --help: NAME,
 * SYNOPSIS, DESCRIPTION (the summary and the details), OPTIONS (each with
 * its default), FILES (the details' lines "  PREFIX.NAME  columns..."),
 * EXAMPLES (the lines after a details line "Examples:"), SEE ALSO.  The
 * build writes it with `prog --man`. */
void lz_cli_man(const lz_cli *cli, FILE *f);

/* A bash completion of the program's options (and of the values of its
 * choice options), from the same table; the build writes it with
 * `prog --bash-completion`. */
void lz_cli_completion(const lz_cli *cli, FILE *f);

/* "prog (latent-zoo) VERSION", then the BLAS a run uses by default:
 * "BLAS: OpenBLAS 0.3.21, kernel Zen (auto), 2 threads" (lz_blas_describe). */
void lz_cli_version(const lz_cli *cli, FILE *f);

/* "BLAS: " + lz_blas_describe(threads, omp_threads) + newline: the line
 * each program prints under its header when it trains. */
void lz_print_blas(FILE *f, int threads, int omp_threads);

/* ---- options shared by all programs ---- */

typedef struct {
    const char *output;             /* -o PREFIX                                       */
    const char *test;               /* --test FILE                                     */
    const char *label_col;          /* --label-col N|last|none                         */
    const char *missing;            /* --missing TOKEN: one more missing-value token   */
    char skip_col[LZ_OPT_LIST_MAX]; /* --skip-col C[,C..], every use appended */
    double split;                   /* --split FRAC: hold out a fraction of DATA       */
    unsigned long seed;             /* --seed                                          */
    int threads;                    /* --threads (0: one per core)                     */
    const char *save;               /* --save MODEL                                    */
    const char *load;               /* --load MODEL                                    */
    int quiet;                      /* --quiet                                         */
    const char *default_output;     /* the program's default -o ("out/lgm")       */
    int allow_missing;              /* 1: the program completes missing values; else
                                       lz_load_inputs refuses data with one         */
} lz_common_opts;

/* Defaults: output = default_prefix, label-col none, seed 1, threads 0. */
void lz_common_defaults(lz_common_opts *c, const char *default_prefix);

/* The table rows of the shared options, to put at the end of a program's
 * table (before the terminating {0}). */
#define LZ_COMMON_OPTIONS(c)                                                                       \
    {"output",   'o',                                                                              \
     LZ_OPT_STR, &(c)->output,                                                                     \
     "PREFIX",   "write PREFIX.trace.dat, PREFIX.summary.tsv, ... (directories are created)"},     \
        {"test",     0,      LZ_OPT_STR,                                                           \
         &(c)->test, "FILE", "held-out data scored after (and during) training"},                  \
        {"split",                                                                                  \
         0,                                                                                        \
         LZ_OPT_REAL,                                                                              \
         &(c)->split,                                                                              \
         "FRAC",                                                                                   \
         "hold out this fraction of DATA as the test set (fixed permutation, seed 0); 0: none"},   \
        {"label-col",                                                                              \
         0,                                                                                        \
         LZ_OPT_STR,                                                                               \
         &(c)->label_col,                                                                          \
         "N|NAME|last|none",                                                                       \
         "column of text data holding labels (numbers or words), kept out of the model: its "      \
         "1-based number, or its name in the header"},                                             \
        {"skip-col",                                                                               \
         0,                                                                                        \
         LZ_OPT_LIST,                                                                              \
         (c)->skip_col,                                                                            \
         "C[,C..]",                                                                                \
         "drop these columns of text data before modelling: 1-based numbers, or names in the "     \
         "header; may be repeated"},                                                               \
        {"missing",                                                                                \
         0,                                                                                        \
         LZ_OPT_STR,                                                                               \
         &(c)->missing,                                                                            \
         "TOKEN",                                                                                  \
         "one more token marking a missing value in text data (always: an empty field, NA, NaN "   \
         "and the question mark)"},                                                                \
        {"seed",     0,   LZ_OPT_ULONG,                                                            \
         &(c)->seed, "N", "random seed (same seed, data, threads: same files)"},                   \
        {"threads",     0,   LZ_OPT_INT,                                                           \
         &(c)->threads, "N", "threads for BLAS and the program; 0: one per core"},                 \
        {"save", 0, LZ_OPT_STR, &(c)->save, "MODEL", "write the fitted model to MODEL"},           \
        {"load",                                                                                   \
         0,                                                                                        \
         LZ_OPT_STR,                                                                               \
         &(c)->load,                                                                               \
         "MODEL",                                                                                  \
         "read a model instead of training (DATA is then optional: score and write outputs)"},     \
    {                                                                                              \
        "quiet", 'q', LZ_OPT_FLAG, &(c)->quiet, NULL, "print only errors and the final report"     \
    }

/* The start of every program's main(): first lz_kernel_startup (the best
 * BLAS kernel for the CPU: the process may be executed again), then parse argv for "[options] DATA"
 * with the shared options in co; print --help or --version, or a one-line error
 * ("prog: option -k: expected an integer, got 'x'"), and say so by returning
 * the exit status (0 or 1); return -1 when the program goes on, with
 * *data_path the DATA argument (NULL only with --load).  Also checks the
 * shared options' ranges (--threads) and paths: -o must be a prefix, not
 * empty, not a directory ("dir/") and not "." or ".." (which would write
 * hidden files such as "dir/.A.dat"); --save a file name. */
int lz_cli_start(const lz_cli *cli, const lz_common_opts *co, int argc, char **argv,
                 const char **data_path);

/* 1 when `bytes` fit in this machine's physical memory (sysconf), else 0: a
 * model whose d x d matrices would not fit is refused before it is
 * allocated (an over-committed allocation succeeds, and the fit is then
 * killed when it touches the memory). */
int lz_fits_memory(double bytes);

/* A latent dimension's default on data of d columns: want, or d - 1 when
 * d <= want, a latent space smaller than the data's (1 when d = 1, which
 * the model's own check then refuses).  pca_iter and lgm_em (want 2),
 * nlgm_vae and nlgm_cvae (vae_default_k, want 20). */
size_t lz_default_k(size_t d, size_t want);

/* --n-samples N of lgm_em and gmm_em: draws from the fitted model,
 * 0 <= N <= 1000000 (more would fill the disk, not teach). */
lz_status lz_check_n_samples(int n, lz_error *err);

/* Read the training data (path may be NULL when a model is loaded) and the
 * test data (--test FILE, or --split FRAC of DATA), with the label column,
 * checking that the test set has DATA's columns.  min_rows applies to DATA.
 * *train and *test are NULL where absent. */
lz_status lz_load_inputs(const lz_common_opts *c, const char *path, size_t min_rows,
                         lz_data **train, lz_data **test, lz_error *err);

/* When the columns' standard deviations (var (d), the variances of data's
 * columns) span more than LZ_SPREAD_NOTE, print a note to stdout: a model
 * that is not equivariant under a rescaling of single columns (`what`, e.g.
 * "PCA") fits the largest columns, and columns in different units are best
 * standardised first. */
void lz_note_spread(const lz_data *data, const double *var, const char *what);

/* When some columns are constant in the training rows (var_j == 0: a
 * spread at or below LZ_VAR_RTOL of the column's magnitude counts as
 * rounding, lz_data_moments), print a note to stdout naming the first and
 * counting the others: a model that standardises each column divides a
 * constant one by |its mean| (or 1), a convention that sets that column's
 * share of the log-likelihood in the data's units. */
void lz_note_constant(const lz_data *data, const double *var);

/* Print "prog: message" to stderr: the one-line error of a failed run. */
void lz_die_msg(const char *prog, const lz_error *err);

#endif
