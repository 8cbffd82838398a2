/* main.c -- gmm_em: fit a Gaussian mixture by EM (docs/gmm.md).
 *
 *     gmm_em [options] DATA
 *
 * options -> data -> checks -> fit (or --load) -> evaluate -> write every
 * file through one lz_outset committed at the end -> final report.
 * Dimension letters: n samples, d data, k components.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmm.h"
#include "lz_cli.h"
#include "lz_data.h"
#include "lz_out.h"
#include "lz_prob.h"

#define PROG "gmm_em"

static const char *DETAILS =
    "Model: z ~ Categorical(pi), x | z ~ N(mu_z, Sigma_z), z = 1..K (docs/gmm.md).\n"
    "EM in the log domain; ll/N is the log-likelihood per sample in nats, and EM never\n"
    "lowers it.  Every Sigma_z is kept above a floor, Sigma_z >= V x diag(var) with var_i\n"
    "coordinate i's variance in the training data (--reg V; a column constant at mu_i:\n"
    "V mu_i^2, or V when it is 0; spherical: V x the mean variance), so a rescaled column\n"
    "gives the same fit in its new units.  The initial centres are chosen in standardised\n"
    "coordinates for the same reason.  A component whose weight goes to 0, or whose Sigma\n"
    "sits on the floor in every direction (it sits on one point), is counted in the\n"
    "trace's n_collapsed and named at the end; it stays where it is, EM stays monotone.\n"
    "Files written (PREFIX from -o):\n"
    "  PREFIX.trace.dat        iter ll_train ll_test delta seconds min_weight n_collapsed\n"
    "  PREFIX.weights.dat      component weight\n"
    "  PREFIX.means.dat        component x1..xd (what --init file: reads)\n"
    "  PREFIX.covariances.dat  component row x1..xd: each Sigma_z as a d x d matrix\n"
    "                          (diag, spherical: component x1..xd, its diagonal)\n"
    "  PREFIX.latent.dat       r1..rK assigned [label]: responsibilities of the test rows\n"
    "                          (else of DATA) and the most responsible component\n"
    "  PREFIX.samples.dat      component x1..xd: draws from the fitted mixture\n"
    "  PREFIX.select.dat       --k-range: K ll_train ll_test bic aic n_params seconds\n"
    "  PREFIX.imputed.dat      x1..xd [label]: DATA with each missing value replaced\n"
    "                          by E[x_m | x_o] = sum_z r_z E[x_m | x_o, z] (when DATA\n"
    "                          has missing values)\n"
    "  PREFIX.summary.tsv      the shared columns, then bic aic cov reg converged ...\n"
    "With --k-range the other files are those of the K with the smallest BIC.\n"
    "With --load, DATA is optional; the model is scored and the files but the trace written.\n"
    "Missing values (an empty field, NA, NaN, ?, --missing TOKEN): EM completes them; the\n"
    "responsibilities and ll/N come from the observed values of each row, log p(x_o).\n"
    "\n"
    "Examples:\n"
    "  gmm_em data.csv                                   # K = 3, full covariances, out/gmm.*\n"
    "  gmm_em -K 10 --cov diag --label-col last data/digits.csv\n"
    "  gmm_em --k-range 1:20 --split 0.2 points.csv      # BIC and held-out ll against K\n"
    "  gnuplot -c plots/gmm.gp out/gmm points.csv         # components over the data (d = 2)\n";

/* one K of --k-range */
typedef struct {
    int k;
    double ll_train, ll_test, bic, aic, seconds;
    size_t n_params;
} select_row;

/* growable list of trace lines */
typedef struct {
    gmm_iter_info *v;
    size_t n, cap;
} lines;

/* everything a run holds */
typedef struct {
    gmm_config cfg;
    lz_common_opts co;
    const char *init, *k_range, *data_path;
    int n_samples, kmin, kmax, accel; /* accel: index into "squarem|none" */
    lz_data *train, *test;
    double *init_means; /* (k, d) --init file: */
    gmm_model *m;       /* the model written */
    gmm_result res;
    double ll_train, ll_test;
    lines all, trace; /* every line of the current K; the kept fit's */
    select_row *sel;  /* (kmax - kmin + 1) with --k-range */
    lz_error err;
    double *imputed; /* (n, d) DATA completed by E[x_m | x_o], or NULL */
    lz_far_fill far; /* its values far outside the data (lz_far_fills) */
} run;

/* ---------------------------------------------------------------- options */

/* --init kmeans++|random|file:PATH and --k-range A:B into the config */
static lz_status parse_choices(run *r)
{
    const char *s = r->init;
    if (!strcmp(s, "kmeans++"))
        r->cfg.init = GMM_INIT_KMEANSPP;
    else if (!strcmp(s, "random"))
        r->cfg.init = GMM_INIT_RANDOM;
    else if (!strncmp(s, "file:", 5) && s[5]) {
        r->cfg.init = GMM_INIT_FILE;
        lz_out_protect(s + 5);
    } else
        return lz_fail(&r->err, LZ_EINVAL, "--init '%s': expected kmeans++, random or file:PATH",
                       s);
    r->kmin = r->kmax = r->cfg.k;
    if (r->k_range) {
        char tail;
        if (sscanf(r->k_range, "%d:%d%c", &r->kmin, &r->kmax, &tail) != 2 || r->kmin < 1 ||
            r->kmax < r->kmin)
            return lz_fail(&r->err, LZ_EINVAL, "--k-range '%s': expected A:B with 1 <= A <= B",
                           r->k_range);
        if (r->cfg.init == GMM_INIT_FILE)
            return lz_fail(&r->err, LZ_EINVAL, "--k-range with --init file: one file holds one K");
        r->cfg.k = r->kmax;
    }
    if (r->co.load && r->k_range)
        return lz_fail(&r->err, LZ_EINVAL, "--k-range with --load: a model file holds one K");
    if (lz_check_n_samples(r->n_samples, &r->err)) return r->err.status;
    r->cfg.seed = r->co.seed;
    r->cfg.accelerate = r->accel == 0;
    return gmm_config_check(&r->cfg, 0, 0, &r->err);
}

/* options -> lz_cli_start -> config check: -1 to go on, else the exit status */
static int parse_options(run *r, int argc, char **argv)
{
    gmm_config_default(&r->cfg);
    lz_common_defaults(&r->co, "out/gmm");
    r->co.allow_missing = 1; /* EM completes them */
    r->init = "kmeans++";
    r->n_samples = 64;
    lz_opt opts[] = {
        {"components", 'K', LZ_OPT_INT, &r->cfg.k, "K", "mixture components, 1 <= K <= n"},
        {"cov", 0, LZ_OPT_CHOICE, &r->cfg.cov, "full|diag|spherical|tied",
         "covariance of each component: a full matrix, a diagonal, s_z I, or one full matrix "
         "shared by all"},
        {"init", 0, LZ_OPT_STR, &r->init, "kmeans++|random|file:PATH",
         "initial centres: k-means++ then Lloyd steps, K random rows, or the K means of PATH "
         "(the layout of PREFIX.means.dat); chosen in standardised coordinates"},
        {"n-init", 0, LZ_OPT_INT, &r->cfg.n_init, "R",
         "starts (seeds seed, stream 0..R-1), 1..10000; the one with the highest final ll_train is "
         "kept"},
        {"reg", 0, LZ_OPT_REAL, &r->cfg.reg, "V",
         "floor on every Sigma_z: Sigma_z >= V x diag(var_i), var_i coordinate i's variance "
         "(constant at mu_i: V mu_i^2, or V at 0; spherical: V x mean variance), 1e-10 <= V < 1"},
        {"tol", 0, LZ_OPT_REAL, &r->cfg.tol, "T",
         "stop when ll/N rises by less than T nats a line"},
        {"accel", 0, LZ_OPT_CHOICE, &r->accel, "squarem|none",
         "SQUAREM cycles (3 or more EM steps a line, kept monotone), or one plain EM step a line"},
        {"max-iter", 0, LZ_OPT_INT, &r->cfg.max_iter, "N", "at most N EM iterations a start"},
        {"k-range", 0, LZ_OPT_STR, &r->k_range, "A:B",
         "fit every K from A to B, write PREFIX.select.dat; the other files are of the K with "
         "the smallest BIC (-K is then ignored)"},
        {"n-samples", 0, LZ_OPT_INT, &r->n_samples, "N",
         "draws from the model in PREFIX.samples.dat (0..1000000)"},
        LZ_COMMON_OPTIONS(&r->co),
        {0},
    };
    lz_cli cli = {PROG,
                  "[options] DATA",
                  "Fit a Gaussian mixture by EM, printing ll/N an iteration.",
                  DETAILS,
                  opts,
                  0,
                  1,
                  1,
                  0};
    int rc = lz_cli_start(&cli, &r->co, argc, argv, &r->data_path);
    if (rc >= 0) return rc;
    if (parse_choices(r)) {
        lz_die_msg(PROG, &r->err);
        return 1;
    }
    gmm_set_threads(r->co.threads);
    lz_outset_install_signal_cleanup();
    return -1;
}

/* ------------------------------------------------------------------- data */

/* DATA, --test or --split, then the model's data checks: magnitudes, some
 * variance, K <= n, and --init file:'s means */
static lz_status load_inputs(run *r)
{
    lz_status st = lz_load_inputs(&r->co, r->data_path, 1, &r->train, &r->test, &r->err);
    if (st || !r->train) return st;
    size_t d = r->train->d, nc = 0;
    double *mu = malloc(d * sizeof *mu), *var = malloc(d * sizeof *var);
    if (!mu || !var) st = lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    if (!st) st = lz_data_moments(r->train, mu, var, &nc, &r->err);
    if (!st && nc == d)
        st = lz_fail(&r->err, LZ_EINVAL,
                     "%s: every column is constant: expected some variance "
                     "to model",
                     r->train->path);
    free(mu);
    free(var);
    if (st || r->co.load) return st;
    gmm_config c = r->cfg;
    c.k = r->kmax;
    if ((st = gmm_config_check(&c, r->train->n, d, &r->err))) {
        /* "data.csv: -K 12: expected ...", the largest K of --k-range named so */
        if (r->k_range) lz_error_prefix(&r->err, "--k-range %s: its largest", r->k_range);
        lz_error_prefix(&r->err, "%s", r->train->path);
        return st;
    }
    if (r->cfg.init != GMM_INIT_FILE) return LZ_OK;
    if (!(r->init_means = malloc((size_t)r->cfg.k * d * sizeof *r->init_means)))
        return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    r->cfg.init_means = r->init_means;
    st = gmm_means_read(r->init + 5, d, (size_t)r->cfg.k, r->init_means, &r->err);
    if (st) lz_error_prefix(&r->err, "--init");
    return st;
}

/* --load: the model, its width against the data's */
static lz_status load_model(run *r)
{
    lz_status st = gmm_model_read(r->co.load, &r->m, &r->err);
    const lz_data *set[2] = {r->train, r->test};
    char where[256];
    for (int i = 0; !st && i < 2; i++)
        if (set[i] && set[i]->d != r->m->d)
            st = lz_fail(
                &r->err, LZ_EFORMAT, "%s: %zu feature columns: expected %zu as in model %s",
                lz_data_width_where(set[i], where, sizeof where), set[i]->d, r->m->d, r->co.load);
    if (!st)
        printf("%s: model %s: d = %zu, K = %zu, %s covariances\n", PROG, r->co.load, r->m->d,
               r->m->k, gmm_cov_name(r->m->cov));
    return st;
}

/* -------------------------------------------------------------------- fit */

static lz_status push_line(lines *l, const gmm_iter_info *info)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        gmm_iter_info *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return LZ_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *info;
    return LZ_OK;
}

/* one line an iteration, as it happens */
static int on_iter(const gmm_iter_info *it, void *ud)
{
    run *r = ud;
    if (push_line(&r->all, it)) return 1;
    if (r->co.quiet) return 0;
    if (it->iter == 0 && (r->cfg.n_init > 1 || r->k_range))
        printf("--- K = %d, start %d of %d\n", r->cfg.k, it->start + 1, r->cfg.n_init);
    printf("%6d %15.8f %15.8f %12.4e %9.3f %11.3e %9zu\n", it->iter, it->ll_train, it->ll_test,
           it->delta, it->seconds, it->min_weight, it->n_collapsed);
    fflush(stdout);
    return 0;
}

static void print_start(const run *r)
{
    const lz_data *tr = r->train, *te = r->test;
    printf("%s: %s: %zu samples x %zu features%s; ", PROG, tr->path, tr->n, tr->d,
           tr->y ? " (+ labels)" : "");
    if (r->k_range)
        printf("K = %d..%d", r->kmin, r->kmax);
    else
        printf("K = %d", r->cfg.k);
    printf(", %s covariances, init %s (%d start%s)", gmm_cov_name(r->cfg.cov), r->init,
           r->cfg.n_init, r->cfg.n_init == 1 ? "" : "s");
    if (te) printf("; test %s: %zu samples", r->co.split > 0 ? "(--split)" : te->path, te->n);
    printf("\n");
    lz_print_blas(stdout, 1, gmm_threads());
    printf("floor: Sigma_z >= %g x each coordinate's variance (--reg)\n", r->cfg.reg);
    /* full (tied) covariances with fewer rows than dimensions to estimate
     * them: said before a fit that may be long (O(d^3) a component and step)
     * and whose ll/N will measure the floor (report_floor says it again) */
    int kk = r->k_range ? r->kmin : r->cfg.k;
    double per = (double)tr->n / (double)kk, dd = (double)tr->d;
    if (r->cfg.cov == GMM_FULL && per < dd + 1)
        printf("note: %zu rows for K = %d full %zu x %zu covariances, about %.3g rows a "
               "component, fewer than d + 1: a Sigma_z may rest on the floor in some directions, "
               "where ll/N measures --reg (the end of the run says which; --cov diag: d "
               "variances a component)\n",
               tr->n, kk, tr->d, tr->d, per);
    else if (r->cfg.cov == GMM_TIED && (double)tr->n - (double)kk < dd)
        printf("note: %zu rows about K = %d means for a tied %zu x %zu covariance, fewer than "
               "d + K: Sigma will rest on the floor in some directions, where ll/N measures "
               "--reg (--cov diag: d variances)\n",
               tr->n, kk, tr->d, tr->d);
    if (r->cfg.accelerate)
        printf("SQUAREM: each line is one cycle of 3 or more EM steps (--accel none: one EM step "
               "a line)\n");
    printf("%6s %15s %15s %12s %9s %11s %9s\n", "iter", "ll/N train", "ll/N test", "delta",
           "seconds", "min weight", "collapsed");
}

/* the lines of the kept start of the last fit, as the trace */
static lz_status keep_trace(run *r)
{
    r->trace.n = 0;
    for (size_t i = 0; i < r->all.n; i++)
        if (r->all.v[i].start == r->res.best_start && push_line(&r->trace, &r->all.v[i]))
            return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    return LZ_OK;
}

/* fit every K of kmin..kmax; keep the one with the smallest BIC in r->m */
static lz_status fit(run *r)
{
    const lz_data *tr = r->train, *te = r->test;
    size_t nk = (size_t)(r->kmax - r->kmin + 1);
    if (!(r->sel = calloc(nk, sizeof *r->sel))) return lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    if (!r->co.quiet) print_start(r);
    lz_status st = LZ_OK;
    double best_bic = INFINITY;
    for (int k = r->kmin; !st && k <= r->kmax; k++) {
        gmm_result res;
        r->cfg.k = k;
        r->all.n = 0;
        /* the fit keeps four models (SQUAREM's three and the current one) */
        double bytes = 4.0 * (double)gmm_cov_size(tr->d, (size_t)k, r->cfg.cov) * sizeof(double);
        gmm_model *m = lz_fits_memory(bytes) ? gmm_model_alloc(tr->d, (size_t)k, r->cfg.cov) : NULL;
        if (!m)
            return lz_fail(&r->err, LZ_ENOMEM,
                           "d = %zu columns, K = %d: out of memory for the covariances (%.3g GB "
                           "or more): expected fewer columns or components (--cov diag keeps no "
                           "d x d matrix)",
                           tr->d, k, bytes / 1e9);
        if (tr->miss || (te && te->miss))
            st = gmm_fit_incomplete(&r->cfg, tr, te, m, on_iter, r, &res, &r->err);
        else
            st = gmm_fit(&r->cfg, tr->n, tr->x, te ? te->n : 0, te ? te->x : NULL, m, on_iter, r,
                         &res, &r->err);
        if (st) lz_error_prefix(&r->err, "%s", tr->path);
        select_row *s = &r->sel[k - r->kmin];
        if (!st) {
            *s = (select_row){k,
                              res.ll_train,
                              res.ll_test,
                              gmm_bic(m, tr->n, res.ll_train),
                              gmm_aic(m, tr->n, res.ll_train),
                              res.seconds,
                              gmm_n_params(m)};
            if (r->k_range)
                printf(
                    "K = %2d: ll/N train %.6f test %.6f  BIC %.2f  AIC %.2f  (%d iterations, %ld "
                    "E-steps)\n",
                    k, s->ll_train, s->ll_test, s->bic, s->aic, res.iterations, res.e_steps);
        }
        if (!st && s->bic < best_bic) { /* the first K when BICs tie */
            best_bic = s->bic;
            gmm_model_free(r->m);
            r->m = m;
            r->res = res;
            st = keep_trace(r);
        } else
            gmm_model_free(m);
    }
    if (st) return st;
    r->cfg.k = (int)r->m->k;
    r->ll_train = r->res.ll_train;
    r->ll_test = r->res.ll_test;
    return LZ_OK;
}

/* ------------------------------------------------------------- evaluation */

/* ll/N of data under m: of the observed values, log p(x_o), when it has
 * missing values */
static lz_status loglik(const gmm_model *m, const lz_data *data, double *ll, lz_error *err)
{
    if (data->miss) return gmm_score_incomplete(m, data, ll, NULL, NULL, NULL, err);
    return gmm_loglik(m, data->n, data->x, ll, err);
}

/* responsibilities r (n, k) of the rows of data (from x_o when values are
 * missing), and each row's log p(x) (log p(x_o)) into logp (n) when not NULL */
static lz_status responsibilities(const gmm_model *m, const lz_data *data, double *r, double *logp,
                                  lz_error *err)
{
    if (data->miss) return gmm_score_incomplete(m, data, NULL, r, logp, NULL, err);
    return gmm_responsibilities(m, data->n, data->x, r, logp, err);
}

/* --load: ll/N of DATA and of the test set under the model */
static lz_status score(run *r)
{
    lz_status st = LZ_OK;
    r->ll_train = r->ll_test = NAN;
    if (r->train) st = loglik(r->m, r->train, &r->ll_train, &r->err);
    if (!st && r->test) st = loglik(r->m, r->test, &r->ll_test, &r->err);
    return st;
}

/* ----------------------------------------------------------------- output */

static lz_status write_trace(lz_outset *os, const char *path, const lines *l, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    fputs("# iter ll_train ll_test delta seconds min_weight n_collapsed\n", f);
    for (size_t i = 0; i < l->n; i++) {
        const gmm_iter_info *it = &l->v[i];
        double row[7] = {
            it->iter,       it->ll_train,           it->ll_test, it->delta, it->seconds,
            it->min_weight, (double)it->n_collapsed};
        lz_dat_row(f, ' ', 7, row);
    }
    return LZ_OK;
}

/* "# LEAD x1 .. xd" */
static void header_x(FILE *f, const char *lead, size_t d)
{
    fprintf(f, "# %s", lead);
    for (size_t j = 0; j < d; j++) fprintf(f, " x%zu", j + 1);
    fputc('\n', f);
}

/* weights, means and covariances (each Sigma_z as a d x d matrix, or its
 * diagonal for diag and spherical) */
static lz_status write_params(lz_outset *os, const char *prefix, const gmm_model *m, lz_error *err)
{
    size_t d = m->d, k = m->k;
    char path[4096];
    FILE *f[3] = {NULL, NULL, NULL};
    const char *name[3] = {"weights.dat", "means.dat", "covariances.dat"};
    for (int i = 0; i < 3; i++) {
        if (lz_path(path, sizeof path, prefix, name[i], err)) return err->status;
        if (!(f[i] = lz_outset_open(os, path, err))) return err->status;
    }
    /* full and tied: each Sigma_z as a d x d matrix (component row x1..xd);
     * diag and spherical: its diagonal, one row a component (component
     * x1..xd), as scikit-learn's covariances_ is (k, d) for diag: the d x d
     * matrices of zeros took as long to write as the fit (docs/gmm.md) */
    int full = m->cov == GMM_FULL || m->cov == GMM_TIED;
    double *s = malloc((d * d + d) * sizeof *s), *dg = s + d * d;
    if (!s) return lz_fail(err, LZ_ENOMEM, "out of memory");
    fputs("# component weight\n", f[0]);
    header_x(f[1], "component", d);
    header_x(f[2], full ? "component row" : "component", d);
    for (size_t z = 0; z < k; z++) {
        fprintf(f[0], "%zu ", z + 1);
        lz_dat_row(f[0], ' ', 1, m->weights + z);
        fprintf(f[1], "%zu ", z + 1);
        lz_dat_row(f[1], ' ', d, m->means + z * d);
        gmm_covariance(m, z, s);
        if (!full) {
            for (size_t i = 0; i < d; i++) dg[i] = s[i * d + i];
            fprintf(f[2], "%zu ", z + 1);
            lz_dat_row(f[2], ' ', d, dg);
            continue;
        }
        for (size_t i = 0; i < d; i++) {
            fprintf(f[2], "%zu %zu ", z + 1, i + 1);
            lz_dat_row(f[2], ' ', d, s + i * d);
        }
    }
    free(s);
    return LZ_OK;
}

/* responsibilities r1..rK, the most responsible component and the label of
 * every row of data */
static lz_status write_latent(lz_outset *os, const char *path, const gmm_model *m,
                              const lz_data *data, lz_error *err)
{
    size_t k = m->k;
    double *r = malloc(data->n * k * sizeof *r), *row = malloc((k + 2) * sizeof *row);
    lz_status st = r && row ? LZ_OK : lz_fail(err, LZ_ENOMEM, "out of memory");
    FILE *f = NULL;
    if (!st) st = responsibilities(m, data, r, NULL, err);
    if (!st && !(f = lz_outset_open(os, path, err))) st = err->status;
    char tail[64];
    snprintf(tail, sizeof tail, "assigned%s%s", data->y ? " " : "",
             data->y ? lz_label_columns(data) : "");
    if (!st) lz_dat_header_seq(f, "r", k, tail);
    for (size_t i = 0; !st && i < data->n; i++) {
        size_t a = 0;
        for (size_t z = 0; z < k; z++) {
            row[z] = r[i * k + z];
            if (row[z] > row[a]) a = z;
        }
        row[k] = (double)(a + 1);
        for (size_t z = 0; z <= k; z++) {
            if (z) fputc(' ', f);
            lz_put_num(f, row[z]);
        }
        lz_put_label(f, ' ', data, i);
        fputc('\n', f);
    }
    free(r);
    free(row);
    return st;
}

/* n draws from the model: component x1..xd, from a stream of their own (the
 * starts use streams 0..R-1), so a loaded model draws the same samples */
#define SAMPLE_STREAM 0x7fffffffUL

static lz_status write_samples(lz_outset *os, const char *path, const gmm_model *m, size_t n,
                               unsigned long seed, lz_error *err)
{
    size_t d = m->d;
    gsl_rng *g = lz_rng_alloc_stream(seed, SAMPLE_STREAM);
    double *x = malloc(n * d * sizeof *x), *row = malloc((d + 1) * sizeof *row);
    size_t *comp = malloc(n * sizeof *comp);
    FILE *f = NULL;
    lz_status st = g && x && row && comp ? LZ_OK : lz_fail(err, LZ_ENOMEM, "out of memory");
    if (!st) st = gmm_sample(m, g, n, x, comp, err);
    if (!st && !(f = lz_outset_open(os, path, err))) st = err->status;
    if (!st) header_x(f, "component", d);
    for (size_t i = 0; !st && i < n; i++) {
        row[0] = (double)(comp[i] + 1);
        memcpy(row + 1, x + i * d, d * sizeof *row);
        lz_dat_row(f, ' ', d + 1, row);
    }
    if (g) gsl_rng_free(g);
    free(x);
    free(row);
    free(comp);
    return st;
}

/* DATA with each missing value replaced by E[x_m | x_o] = sum_z r_z E[x_m |
 * x_o, z] (same columns, label last) */
static lz_status write_imputed(lz_outset *os, const char *path, run *r, lz_error *err)
{
    const lz_data *data = r->train;
    double *x = malloc(data->n * data->d * sizeof *x); /* (n, d) */
    if (!x) return lz_fail(err, LZ_ENOMEM, "out of memory");
    memcpy(x, data->x, data->n * data->d * sizeof *x);
    r->imputed = x;
    lz_status st = gmm_score_incomplete(r->m, data, NULL, NULL, NULL, x, err);
    if (!st) st = lz_dat_write_matrix(os, path, "x", data->n, data->d, x, data, err);
    if (!st) st = lz_far_fills(data, x, &r->far, err);
    return st;
}

static lz_status write_select(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    fputs("# K ll_train ll_test bic aic n_params seconds\n", f);
    for (int k = r->kmin; k <= r->kmax; k++) {
        const select_row *s = &r->sel[k - r->kmin];
        double row[7] = {k,      s->ll_train,         s->ll_test, s->bic,
                         s->aic, (double)s->n_params, s->seconds};
        lz_dat_row(f, ' ', 7, row);
    }
    return LZ_OK;
}

static lz_status write_summary(lz_outset *os, const char *path, const run *r, lz_error *err)
{
    static const char *const extra[] = {
        "bic", "aic",     "cov",    "reg",     "converged",    "n_collapsed",
        "d",   "n_train", "n_test", "e_steps", "init_seconds", "missing_frac"};
    const gmm_model *m = r->m;
    char model[32];
    snprintf(model, sizeof model, "gmm-%s", gmm_cov_name(m->cov));
    size_t ntr = r->train ? r->train->n : 0;
    /* missing_frac (DATA's missing values / its entries) only when a data set
     * misses values: complete data give the same summary as before */
    const lz_data *tr = r->train;
    int inc = (tr && tr->miss) || (r->test && r->test->miss);
    size_t n_extra = sizeof extra / sizeof extra[0] - !inc;
    lz_summary sh = {model,      "continuous",        m->k,    gmm_n_params(m),   r->ll_train,
                     r->ll_test, r->test ? 0.0 : NAN, "exact", r->res.iterations, r->res.seconds};
    FILE *f = lz_summary_begin(os, path, &sh, n_extra, extra, err);
    if (!f) return err->status;
    fputc('\t', f);
    lz_put_num(f, ntr ? gmm_bic(m, ntr, r->ll_train) : NAN);
    fputc('\t', f);
    lz_put_num(f, ntr ? gmm_aic(m, ntr, r->ll_train) : NAN);
    fprintf(f, "\t%s\t", gmm_cov_name(m->cov));
    lz_put_num(f, r->co.load ? NAN : r->cfg.reg);
    fprintf(f, "\t%d\t%zu\t%zu\t%zu\t%zu\t%ld\t", r->co.load ? 0 : r->res.converged,
            gmm_n_collapsed(m), m->d, ntr, r->test ? r->test->n : 0, r->res.e_steps);
    lz_put_num(f, r->res.init_seconds);
    if (inc) {
        fputc('\t', f);
        lz_put_num(f, tr ? (double)tr->n_miss / ((double)tr->n * (double)tr->d) : NAN);
    }
    fputc('\n', f);
    return LZ_OK;
}

/* every file through one output set, committed at the end */
static lz_status write_outputs(run *r)
{
    lz_outset *os = lz_outset_alloc();
    const char *pre = r->co.output;
    const lz_data *rows = r->test ? r->test : r->train;
    char p[4096];
    lz_error *e = &r->err;
    lz_status st = os ? LZ_OK : lz_fail(e, LZ_ENOMEM, "out of memory");
    if (!st && !r->co.load && !(st = lz_path(p, sizeof p, pre, "trace.dat", e)))
        st = write_trace(os, p, &r->trace, e);
    if (!st) st = write_params(os, pre, r->m, e);
    if (!st && rows && !(st = lz_path(p, sizeof p, pre, "latent.dat", e)))
        st = write_latent(os, p, r->m, rows, e);
    if (!st && r->n_samples > 0 && !(st = lz_path(p, sizeof p, pre, "samples.dat", e)))
        st = write_samples(os, p, r->m, (size_t)r->n_samples, r->co.seed, e);
    if (!st && r->train && r->train->miss && !(st = lz_path(p, sizeof p, pre, "imputed.dat", e)))
        st = write_imputed(os, p, r, e);
    if (!st && r->k_range && !(st = lz_path(p, sizeof p, pre, "select.dat", e)))
        st = write_select(os, p, r, e);
    if (!st && !(st = lz_path(p, sizeof p, pre, "summary.tsv", e))) st = write_summary(os, p, r, e);
    if (!st && r->co.save) st = gmm_model_write(r->m, os, r->co.save, e);
    if (!st) st = lz_outset_commit(os, e);
    lz_outset_free(os);
    return st;
}

/* ----------------------------------------------------------------- report */

/* A full (or tied) Sigma estimated from no more rows than it has dimensions
 * is singular but for the floor: say which, since ll/N then measures the
 * floor (docs/gmm.md, "The floor on Sigma").  Otherwise a live component
 * whose Sigma is on the floor in some directions -- its rows do not vary
 * there: a column of few distinct values, constant within the component, or
 * an exact linear relation -- gets a note naming those columns, as ll/N then
 * depends on --reg too. */
static lz_status report_floor(const run *r, lz_error *err)
{
    const gmm_model *m = r->m;
    size_t d = m->d, nz = m->cov == GMM_TIED ? 1 : m->k;
    if (m->cov == GMM_TIED) {
        double n = 0;
        for (size_t z = 0; z < m->k; z++) n += m->count[z];
        if (n - (double)m->k < (double)d) {
            printf("note: the tied Sigma is estimated from %.3g rows about %zu means in d = %zu: "
                   "singular but for the floor, so ll/N measures --reg (--cov diag or more rows)\n",
                   n, m->k, d);
            return LZ_OK;
        }
    }
    /* one line for them all: the component with the most such directions
     * named, with its constant columns */
    unsigned char *col = malloc(2 * (d ? d : 1));
    if (!col) return lz_fail(err, LZ_ENOMEM, "out of memory");
    unsigned char *cbest = col + (d ? d : 1);
    lz_status st = LZ_OK;
    size_t n_comp = 0, best = 0, nd_best = 0;
    for (size_t z = 0; !st && z < nz; z++) {
        if (m->cov != GMM_TIED && m->state[z] != GMM_LIVE) continue; /* named below */
        if (m->cov == GMM_FULL && m->count[z] < (double)d + 1) {
            printf("note: component %zu's %zu x %zu Sigma rests on %.3g rows: singular but for the "
                   "floor, so ll/N measures --reg (--cov diag, fewer components or more rows)\n",
                   z + 1, d, d, m->count[z]);
            continue;
        }
        size_t nd = 0;
        if ((st = gmm_on_floor(m, z, &nd, col, err)) || !nd) continue;
        n_comp++;
        if (nd > nd_best) {
            nd_best = nd;
            best = z;
            memcpy(cbest, col, d);
        }
    }
    if (!st && n_comp) {
        if (m->cov == GMM_TIED)
            printf("note: the tied Sigma is on the floor in %zu of %zu directions", nd_best, d);
        else if (n_comp == 1)
            printf("note: component %zu's Sigma is on the floor in %zu of %zu directions", best + 1,
                   nd_best, d);
        else
            printf("note: %zu of %zu components have Sigma on the floor in some directions "
                   "(component %zu: %zu of %zu)",
                   n_comp, m->k, best + 1, nd_best, d);
        size_t nc = 0;
        char name[96];
        for (size_t j = 0; j < d; j++) {
            if (!cbest[j]) continue;
            if (nc < 3)
                printf("%s%s", nc ? ", " : ", constant in it: ",
                       r->train ? lz_data_colname(r->train, j, name, sizeof name) : "?");
            nc++;
        }
        if (nc > 3) printf(" and %zu more", nc - 3);
        if (!nc) printf(" (an exact linear relation among its columns)");
        printf(": ll/N measures --reg there (columns of few distinct values? --skip-col them, or "
               "raise --reg)\n");
    }
    free(col);
    return st;
}

/* the notes of report_floor, then each collapsed component by name, and the
 * training row it sits on */
static lz_status report_collapsed(const run *r, lz_error *err)
{
    const gmm_model *m = r->m;
    size_t k = m->k, nc = gmm_n_collapsed(m);
    lz_status st0 = report_floor(r, err);
    if (st0) return st0;
    if (!nc) {
        printf("collapsed components: none\n");
        return LZ_OK;
    }
    printf("collapsed components: %zu of %zu (they stay where they are; fewer components, another "
           "--seed or --n-init, or a larger --reg avoid them)\n",
           nc, k);
    const lz_data *tr = r->train;
    double *resp = tr ? malloc(tr->n * k * sizeof *resp) : NULL;
    if (tr && !resp) return lz_fail(err, LZ_ENOMEM, "out of memory");
    lz_status st = tr ? responsibilities(m, tr, resp, NULL, err) : LZ_OK;
    for (size_t z = 0; !st && z < k; z++) {
        if (m->state[z] == GMM_FADED)
            printf("  component %zu: weight %.3g -> 0 (it explains %.3g training rows)\n", z + 1,
                   m->weights[z], m->count[z]);
        if (m->state[z] != GMM_ON_POINT) continue;
        size_t best = 0;
        for (size_t i = 1; tr && i < tr->n; i++)
            if (resp[i * k + z] > resp[best * k + z]) best = i;
        printf("  component %zu: Sigma on the floor in every direction: it sits on one point "
               "(%.3g rows",
               z + 1, m->count[z]);
        if (tr && tr->line)
            printf(", e.g. %s:%zu", tr->path, tr->line[best]);
        else if (tr)
            printf(", e.g. row %zu", best + 1);
        printf(")\n");
    }
    free(resp);
    return st;
}

/* A note when the test set's ll/N is made by a few rows (lz_ll_tail_of):
 * for the lowest row, its most responsible component and the coordinate
 * farthest from that component's mean in the component's own variances,
 * (x_i - mu_zi)^2 / Sigma_z,ii (docs/gmm.md, "A test ll/N made by a few
 * rows"). */
static lz_status report_test_tail(run *r)
{
    const lz_data *te = r->test;
    const gmm_model *m = r->m;
    size_t n = te->n, d = m->d, k = m->k;
    double *lp = malloc((n ? n : 1) * sizeof *lp), *resp = malloc((n ? n : 1) * k * sizeof *resp);
    double *s = malloc(d * d * sizeof *s);
    lz_status st = lp && resp && s ? LZ_OK : lz_fail(&r->err, LZ_ENOMEM, "out of memory");
    if (!st) st = responsibilities(m, te, resp, lp, &r->err);
    lz_ll_tail t;
    if (!st) st = lz_ll_tail_of(n, lp, &t, &r->err);
    if (!st && t.few) {
        size_t w = t.worst, zb = 0, jb = 0;
        for (size_t z = 1; z < k; z++)
            if (resp[w * k + z] > resp[w * k + zb]) zb = z;
        gmm_covariance(m, zb, s);
        double qb = -1;
        for (size_t j = 0; j < d; j++) {
            if (te->miss && te->miss[w * d + j]) continue;
            double e = te->x[w * d + j] - m->means[zb * d + j], q = e * e / s[j * d + j];
            if (q > qb) {
                qb = q;
                jb = j;
            }
        }
        char where[512], says[256];
        lz_data_where(te, w, jb, where, sizeof where);
        printf("note: ll/N test is made by a few rows: %s, is at %s: %.6g, where its component %zu "
               "has mean %.6g and variance %.3g (docs/gmm.md, \"A test ll/N made by a few "
               "rows\")\n",
               lz_ll_tail_text(&t, says, sizeof says), where, te->x[w * d + jb], zb + 1,
               m->means[zb * d + jb], s[jb * d + jb]);
    }
    free(lp);
    free(resp);
    free(s);
    return st;
}

static lz_status report(run *r)
{
    const gmm_model *m = r->m;
    if (!r->co.load && r->res.converged)
        printf("converged: ll/N rose by less than %g after %d iterations (%ld E-steps, start %d), "
               "%.3f s\n",
               r->cfg.tol, r->res.iterations, r->res.e_steps, r->res.best_start + 1,
               r->res.seconds);
    else if (!r->co.load)
        printf("NOT converged: --max-iter %d reached before ll/N rose by less than --tol %g "
               "(%.3f s)\n",
               r->cfg.max_iter, r->cfg.tol, r->res.seconds);
    if (r->train) printf("ll/N train %.8f  ", r->ll_train);
    if (r->test) printf("ll/N test %.8f  ", r->ll_test);
    printf("%s(K = %zu, %s, %zu parameters)\n", r->train || r->test ? "nats per sample " : "", m->k,
           gmm_cov_name(m->cov), gmm_n_params(m));
    if (r->train)
        printf("BIC %.4f  AIC %.4f  (n = %zu training rows)\n",
               gmm_bic(m, r->train->n, r->ll_train), gmm_aic(m, r->train->n, r->ll_train),
               r->train->n);
    /* a loaded model has no history to tell a collapse by */
    lz_status st = r->co.load ? LZ_OK : report_collapsed(r, &r->err);
    if (!st && r->test) st = report_test_tail(r);
    if (st) return st;
    int imputed = r->train && r->train->miss;
    if (imputed)
        printf("missing values: %zu of %zu in %s (%.3g %%), completed by E[x_m | x_o] in "
               "%s.imputed.dat\n",
               r->train->n_miss, r->train->n * r->train->d, r->train->path,
               100.0 * (double)r->train->n_miss / ((double)r->train->n * (double)r->train->d),
               r->co.output);
    if (imputed && r->far.n_far) {
        char buf[1024];
        printf(
            "note: %s: the components that complete those rows are nearly flat in some "
            "direction (docs/gmm.md, \"Completed values far outside the data\"); a larger --reg, "
            "or fewer components, keeps them near the data\n",
            lz_far_fill_text(r->train, &r->far, buf, sizeof buf));
    }
    printf("wrote %s.{%sweights,means,covariances%s%s%s%s}.dat and %s.summary.tsv%s%s\n",
           r->co.output, r->co.load ? "" : "trace,", r->test || r->train ? ",latent" : "",
           r->n_samples > 0 ? ",samples" : "", r->k_range ? ",select" : "",
           imputed ? ",imputed" : "", r->co.output, r->co.save ? "; model " : "",
           r->co.save ? r->co.save : "");
    return LZ_OK;
}

static void run_free(run *r)
{
    lz_data_free(r->train);
    lz_data_free(r->test);
    gmm_model_free(r->m);
    free(r->init_means);
    free(r->imputed);
    free(r->all.v);
    free(r->trace.v);
    free(r->sel);
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int rc = parse_options(&r, argc, argv);
    if (rc >= 0) return rc;
    lz_status st = load_inputs(&r);
    if (!st) st = r.co.load ? load_model(&r) : fit(&r);
    if (!st && r.co.load) st = score(&r);
    if (!st) st = write_outputs(&r);
    if (!st) st = report(&r);
    if (st) lz_die_msg(PROG, &r.err);
    run_free(&r);
    return st ? 1 : 0;
}
