/* main.c -- nlgm_vae: train a VAE (the non-linear Gaussian model of the seeds)
 * on a data file, print one line an epoch, write gnuplot-ready outputs.
 *
 * Flow (docs/developers.md "A program's main()"): options -> config check ->
 * threads -> data (DATA, --test/--split) and the likelihood's data check ->
 * train or --load -> evaluate (importance-weighted log-likelihood, latent
 * means, reconstructions, samples, manifold) -> every file through one
 * lz_outset, committed at the end -> final report.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>

#include "lz_cli.h"
#include "lz_data.h"
#include "lz_error.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "vae.h"
#include "lz_time.h"

static const char *PROG = "nlgm_vae";

/* random streams of --seed used here (vae.c uses 0..3) */
enum {
    STREAM_BIN_TEST = 4,  /* fixed binarisation of evaluation data (dynamic) */
    STREAM_BIN_TRAIN = 5,
    STREAM_IW_TEST = 6,   /* importance samples */
    STREAM_IW_TRAIN = 7,
    STREAM_PRIOR = 8      /* z ~ N(0, I) for the samples file */
};

#define N_RECON 64

/* ------------------------------------------------------------------ */
/* options */

typedef struct {
    int k, epochs, batch, samples, iw, grid, n_samples, iw_train_rows;
    int act, lik, decoder, binarize;
    double lr, sigma2, scale;
    const char *hidden, *dec_hidden;
} options;

/* "400" or "400,200" -> widths; "0" -> no layer */
static lz_status parse_widths(const char *opt, const char *s, size_t *w, size_t *n,
                              lz_error *err)
{
    *n = 0;
    if (!strcmp(s, "0")) return LZ_OK;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || (*end && *end != ','))
            return lz_fail(err, LZ_EINVAL,
                           "%s '%s': expected widths 1..1000000 separated by commas (0: none)",
                           opt, s);
        if (*n == VAE_MAX_LAYERS)
            return lz_fail(err, LZ_EINVAL, "%s '%s': at most %d hidden layers", opt, s,
                           VAE_MAX_LAYERS);
        w[(*n)++] = (size_t)v;
        if (!*end) return LZ_OK;
        p = end + 1;
    }
}

static lz_status build_config(const options *o, vae_config *c, lz_error *err)
{
    if (o->k < 1) return lz_fail(err, LZ_EINVAL, "-k %d: expected k >= 1", o->k);
    if (o->batch < 1) return lz_fail(err, LZ_EINVAL, "--batch %d: expected >= 1", o->batch);
    if (o->iw < 1 || o->iw > VAE_IW_MAX)
        return lz_fail(err, LZ_EINVAL, "--iw %d: expected 1 .. %d", o->iw, VAE_IW_MAX);
    if (o->grid < 2 || o->grid > 1000)
        return lz_fail(err, LZ_EINVAL, "--grid %d: expected 2 .. 1000", o->grid);
    if (o->n_samples < 0 || o->n_samples > 1000000)
        return lz_fail(err, LZ_EINVAL, "--n-samples %d: expected 0 .. 1000000", o->n_samples);
    if (o->iw_train_rows < 0)
        return lz_fail(err, LZ_EINVAL, "--iw-train-rows %d: expected >= 0 (0: all)",
                       o->iw_train_rows);
    vae_arch *a = &c->arch;
    a->k = (size_t)o->k;
    lz_status st = parse_widths("--hidden", o->hidden, a->enc, &a->n_enc, err);
    if (st) return st;
    a->decoder = (vae_dec)o->decoder;
    if (a->decoder == VAE_DEC_LINEAR) a->n_dec = 0;
    else if (!strcmp(o->dec_hidden, "same")) {
        /* the decoder mirrors the encoder: d-400-200-k-200-400-d */
        a->n_dec = a->n_enc;
        for (size_t l = 0; l < a->n_enc; l++) a->dec[l] = a->enc[a->n_enc - 1 - l];
        if (a->n_dec == 0)
            return lz_fail(err, LZ_EINVAL,
                           "--hidden 0 and an MLP decoder: give the decoder's layers with "
                           "--dec-hidden, or use --decoder linear");
    } else if ((st = parse_widths("--dec-hidden", o->dec_hidden, a->dec, &a->n_dec, err)))
        return st;
    a->act = (vae_act)o->act;
    a->lik = (vae_lik)o->lik;
    a->learn_sigma2 = a->lik == VAE_GAUSSIAN && o->sigma2 == 0;
    c->epochs = o->epochs;
    c->batch = (size_t)o->batch;
    c->lr = o->lr;
    c->samples = o->samples;
    c->iw = o->iw;
    c->sigma2 = o->sigma2;
    c->scale = o->scale;
    c->binarize = (vae_bin)o->binarize;
    return vae_check_config(c, err);
}

/* ------------------------------------------------------------------ */
/* training display and trace */

typedef struct {
    int quiet;
    int gaussian;
    vae_epoch_info *trace; /* (epochs) */
    int n_trace;
    double last_progress;
} run_ctx;

static void on_batch(int epoch, size_t b, size_t nb, void *ctx)
{
    run_ctx *r = ctx;
    if (r->quiet) return;
    double now = lz_now();
    if (now - r->last_progress < 0.25 && b < nb) return;
    r->last_progress = now;
    lz_progress("epoch %d: minibatch %zu/%zu", epoch, b, nb);
}

static int on_epoch(const vae_epoch_info *e, void *ctx)
{
    run_ctx *r = ctx;
    r->trace[r->n_trace++] = *e;
    if (r->quiet) return 0;
    lz_progress_end();
    printf("epoch %3d  loss %.4f = recon %.4f + kl %.4f", e->epoch, e->loss_train, e->recon_train,
           e->kl_train);
    if (!isnan(e->loss_test)) printf("  test %.4f", e->loss_test);
    if (r->gaussian) printf("  sigma2 %.6g", e->sigma2);
    printf("  %.2f s  %.0f samples/s\n", e->seconds, e->samples_per_sec);
    fflush(stdout);
    return 0;
}

static lz_status write_trace(lz_outset *os, const char *path, const run_ctx *r, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    static const char *const names[] = {"epoch",   "loss_train", "recon_train",   "kl_train",
                                        "loss_test", "recon_test", "kl_test",      "sigma2",
                                        "seconds", "train_seconds", "samples_per_sec"};
    lz_dat_header(f, ' ', sizeof names / sizeof names[0], names);
    for (int i = 0; i < r->n_trace; i++) {
        const vae_epoch_info *e = &r->trace[i];
        double v[] = {e->epoch,   e->loss_train, e->recon_train, e->kl_train,
                      e->loss_test, e->recon_test, e->kl_test,   e->sigma2,
                      e->seconds, e->train_seconds, e->samples_per_sec};
        lz_dat_row(f, ' ', sizeof v / sizeof v[0], v);
    }
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* evaluation helpers */

typedef struct {
    double ll, ll_se, elbo;
    size_t rows;
} iw_result;

/* mean importance-weighted estimate and ELBO over rows x (n, d) */
static lz_status iw_mean(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                         size_t K, unsigned long seed, unsigned long stream, iw_result *res,
                         lz_error *err)
{
    double *ll = malloc(n * sizeof *ll), *el = malloc(n * sizeof *el),
           *var = malloc(n * sizeof *var);
    gsl_rng *r = lz_rng_alloc_stream(seed, stream);
    lz_status st = LZ_OK;
    if (!ll || !el || !var || !r) st = lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = vae_iw(mod, ws, x, n, K, r, ll, el, var, err);
    if (!st) {
        double sl = 0, se = 0, sv = 0;
        for (size_t i = 0; i < n; i++) {
            sl += ll[i];
            se += el[i];
            sv += var[i] > 0 ? var[i] : 0;
        }
        res->ll = sl / (double)n;
        res->elbo = se / (double)n;
        /* Monte-Carlo standard error of the mean of n independent estimates */
        res->ll_se = sqrt(sv) / (double)n;
        res->rows = n;
    }
    free(ll);
    free(el);
    free(var);
    gsl_rng_free(r);
    return st;
}

/* latent means of x (n, d) -> mu (n, k) */
static void encode_means(const vae_model *mod, vae_workspace *ws, const vae_real *x, size_t n,
                         double *mu)
{
    size_t d = mod->a.d, k = mod->a.k;
    for (size_t i0 = 0; i0 < n; i0 += ws->m_max) {
        size_t m = n - i0 < ws->m_max ? n - i0 : ws->m_max;
        vae_encode(mod, ws, x + i0 * d, m);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) mu[(i0 + i) * k + j] = ws->head[i * 2 * k + j];
    }
}

/* E[x | z] in data space for z (n, k) -> out (n, d) */
static void decode_means(const vae_model *mod, vae_workspace *ws, const vae_real *z, size_t n,
                         double *out)
{
    size_t d = mod->a.d, k = mod->a.k;
    for (size_t i0 = 0; i0 < n; i0 += ws->m_max) {
        size_t m = n - i0 < ws->m_max ? n - i0 : ws->m_max;
        vae_decode(mod, ws, z + i0 * k, m);
        vae_to_data_space(mod, m, ws->out, out + i0 * d);
    }
}

static FILE *open_dat(lz_outset *os, const char *prefix, const char *suffix, lz_error *err)
{
    char path[4096];
    if (lz_path(path, sizeof path, prefix, suffix, err)) return NULL;
    return lz_outset_open(os, path, err);
}

/* ------------------------------------------------------------------ */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    lz_error err;
    lz_error_clear(&err);
    lz_common_opts co;
    lz_common_defaults(&co, "out/vae");
    vae_config c;
    vae_config_defaults(&c);
    options o = {.k = 20,
                 .epochs = 10,
                 .batch = 128,
                 .samples = 1,
                 .iw = 100,
                 .grid = 20,
                 .n_samples = 64,
                 .iw_train_rows = 10000,
                 .act = VAE_RELU,
                 .lik = VAE_BERNOULLI,
                 .decoder = VAE_DEC_MLP,
                 .binarize = VAE_BIN_NONE,
                 .lr = 1e-3,
                 .sigma2 = 0,
                 .scale = 1,
                 .hidden = "400",
                 .dec_hidden = "same"};
    const lz_opt opts[] = {
        {"k", 'k', LZ_OPT_INT, &o.k, "K", "latent dimension"},
        {"hidden", 0, LZ_OPT_STR, &o.hidden, "H[,H..]",
         "encoder hidden widths, x to z (the decoder mirrors them); 0: none"},
        {"dec-hidden", 0, LZ_OPT_STR, &o.dec_hidden, "H[,H..]",
         "decoder hidden widths, z to x ('same': --hidden reversed)"},
        {"act", 0, LZ_OPT_CHOICE, &o.act, "relu|tanh", "hidden activation"},
        {"likelihood", 0, LZ_OPT_CHOICE, &o.lik, "bernoulli|gaussian",
         "p(x|z): Bernoulli(sigm f(z)) on [0,1] data, or N(f(z), sigma^2 I)"},
        {"sigma2", 0, LZ_OPT_REAL, &o.sigma2, "V",
         "Gaussian: fix sigma^2 to V (data units); 0: learn it by gradient on log sigma^2"},
        {"decoder", 0, LZ_OPT_CHOICE, &o.decoder, "mlp|linear",
         "f(z): an MLP, or f(z) = A z + b (the linear Gaussian model)"},
        {"epochs", 0, LZ_OPT_INT, &o.epochs, "N", "passes over the training data"},
        {"batch", 0, LZ_OPT_INT, &o.batch, "M", "minibatch size"},
        {"lr", 0, LZ_OPT_REAL, &o.lr, "RATE", "Adam step size"},
        {"samples", 0, LZ_OPT_INT, &o.samples, "L", "samples of z per datum in training"},
        {"iw", 0, LZ_OPT_INT, &o.iw, "K", "importance samples for the log-likelihood estimate"},
        {"iw-train-rows", 0, LZ_OPT_INT, &o.iw_train_rows, "N",
         "estimate ll_train on N random training rows, the same for every seed (0: all)"},
        {"binarize", 0, LZ_OPT_CHOICE, &o.binarize, "none|threshold|dynamic",
         "Bernoulli: binarise x (threshold 1/2, or a new draw x~Bernoulli(x) each use)"},
        {"scale", 0, LZ_OPT_REAL, &o.scale, "V",
         "Bernoulli: divide the data by V first (16 for grey levels 0..16)"},
        {"grid", 0, LZ_OPT_INT, &o.grid, "G", "k = 2: a G x G grid of z for the manifold file"},
        {"n-samples", 0, LZ_OPT_INT, &o.n_samples, "N", "rows of the samples file"},
        LZ_COMMON_OPTIONS(&co),
        {0}};
    const lz_cli cli = {
        PROG, "[options] DATA",
        "Train a variational autoencoder (the non-linear Gaussian model, NLGM) on DATA and\n"
        "estimate its log-likelihood by importance sampling.",
        "Files written (PREFIX from -o):\n"
        "  PREFIX.trace.dat     one row an epoch: loss_train recon_train kl_train (-ELBO per\n"
        "                       sample), loss_test, sigma2, seconds, samples_per_sec\n"
        "  PREFIX.latent.dat    encoder means z1..zk of the test set (else DATA), label\n"
        "  PREFIX.samples.dat   decoder means x1..xd of z drawn from N(0, I)\n"
        "  PREFIX.recon.dat     the first 64 inputs (source 0) and reconstructions (source 1)\n"
        "  PREFIX.manifold.dat  k = 2: decoder means over a G x G grid of z\n"
        "  PREFIX.summary.tsv   ELBO and importance-weighted log-likelihood per sample\n"
        "Bernoulli outputs are probabilities; Gaussian outputs and densities are in the\n"
        "data's units.  See docs/vae.md.\n"
        "\n"
        "Examples:\n"
        "  nlgm_vae --scale 16 --label-col last data/digits.csv    # Bernoulli, k = 20\n"
        "  nlgm_vae --likelihood gaussian -k 2 --epochs 100 --label-col last data/digits.csv\n"
        "  nlgm_vae --binarize dynamic /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz\n"
        "  gnuplot -c plots/manifold.gp out/vae                    # decoder over a grid of z\n",
        opts, 0, 1, 0};
    const char *data_path;
    int rc = lz_cli_start(&cli, &co, argc, argv, &data_path);
    if (rc >= 0) return rc;
    if (build_config(&o, &c, &err)) {
        lz_die_msg(PROG, &err);
        return 1;
    }
    c.seed = co.seed;
    lz_set_threads(co.threads);
    lz_outset_install_signal_cleanup();

    int status = 1;
    lz_data *train = NULL, *test = NULL;
    vae_model *mod = NULL;
    vae_workspace *ws = NULL;
    lz_outset *os = NULL;
    vae_real *xtr = NULL, *xte = NULL, *xsub = NULL, *zbuf = NULL;
    double *buf = NULL;
    run_ctx run = {co.quiet, c.arch.lik == VAE_GAUSSIAN, NULL, 0, 0};
    lz_status st;

    if (co.load && (st = vae_read(co.load, &mod, &err))) goto fail;
    if ((st = lz_load_inputs(&co, data_path, 1, &train, &test, &err))) goto fail;
    if (!mod) {
        c.arch.d = train->d;
        if (!(mod = vae_alloc(&c.arch, &err))) goto fail;
        double *var = malloc(train->d * sizeof *var); /* (d) column variances */
        if (!var) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        st = vae_fit_data_map(mod, &c, train, var, &err);
        /* an isotropic sigma^2 I in the data's units: say so when the columns'
         * scales differ by orders of magnitude */
        if (!st && mod->a.lik == VAE_GAUSSIAN && !co.quiet)
            lz_note_spread(train, var, "the Gaussian likelihood's noise sigma^2 I");
        free(var);
        if (st) goto fail;
    } else if (train && (st = vae_check_data(mod, train, &err)))
        goto fail;
    if (test && (st = vae_check_data(mod, test, &err))) goto fail;
    const size_t d = mod->a.d, k = mod->a.k;
    const int gaussian = mod->a.lik == VAE_GAUSSIAN;
    run.gaussian = gaussian;

    /* model-space copies: training rows as the trainer sees them (grey levels
     * when binarising dynamically), evaluation rows binarised once */
    size_t n = train ? train->n : 0, nt = test ? test->n : 0;
    if ((n && !(xtr = malloc(n * d * sizeof *xtr))) || (nt && !(xte = malloc(nt * d * sizeof *xte)))) {
        lz_fail(&err, LZ_ENOMEM, "out of memory for the data");
        goto fail;
    }
    gsl_rng *rb = lz_rng_alloc_stream(co.seed, STREAM_BIN_TEST);
    if (!rb) {
        lz_fail(&err, LZ_ENOMEM, "out of memory");
        goto fail;
    }
    if (test) vae_to_model_space(mod, test, rb, xte);
    gsl_rng_free(rb);
    if (train) vae_to_model_space(mod, train, NULL, xtr);

    double train_seconds = 0;
    int epochs_run = 0;
    if (!co.load) {
        if (!(run.trace = calloc((size_t)c.epochs, sizeof *run.trace))) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        vae_init(mod, co.seed, c.sigma2);
        if (!co.quiet) {
            printf("%s: %s, d = %zu, k = %zu, %zu parameters, %zu training rows", PROG,
                   vae_model_name(mod), d, k, vae_n_params(mod), n);
            if (nt) printf(", %zu test rows", nt);
            printf("\n");
            lz_print_blas(stdout, lz_get_threads(), 0);
            fflush(stdout);
        }
        st = vae_train(mod, &c, xtr, n, xte, nt, on_epoch, on_batch, &run, &err);
        lz_progress_end();
        if (st) goto fail;
        epochs_run = run.n_trace;
        train_seconds = run.n_trace ? run.trace[run.n_trace - 1].seconds : 0;
    }

    /* ---- evaluation ---- */
    size_t K = (size_t)c.iw;
    size_t m_eval = K > 2048 ? K : 2048;
    if (!(ws = vae_workspace_alloc(mod, m_eval, &err))) goto fail;
    if (!co.quiet) lz_progress("estimating the log-likelihood (iw-%zu) ...", K);
    iw_result res_test = {NAN, NAN, NAN, 0}, res_train = {NAN, NAN, NAN, 0};
    if (nt && (st = iw_mean(mod, ws, xte, nt, K, co.seed, STREAM_IW_TEST, &res_test, &err)))
        goto fail;
    if (n) {
        /* ll_train on a uniformly random subset of the rows, the same for every
         * seed (all of them when there are few).  Not evenly spaced rows: a
         * data set stored in a periodic order (Fashion-MNIST's is) makes a
         * strided subset unrepresentative, by 11 nats there. */
        size_t rows = o.iw_train_rows == 0 || (size_t)o.iw_train_rows >= n ? n
                                                                            : (size_t)o.iw_train_rows;
        if (!(xsub = malloc(rows * d * sizeof *xsub))) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        size_t *idx = malloc(n * sizeof *idx);
        gsl_rng *rs = lz_rng_alloc(0);
        if (!idx || !rs) {
            free(idx);
            gsl_rng_free(rs);
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        lz_rng_perm(rs, n, idx);
        gsl_rng_free(rs);
        qsort(idx, rows, sizeof *idx, cmp_size);
        lz_data *s = lz_data_subset(train, idx, rows);
        free(idx);
        if (!s) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        rb = lz_rng_alloc_stream(co.seed, STREAM_BIN_TRAIN);
        if (rb) vae_to_model_space(mod, s, rb, xsub);
        gsl_rng_free(rb);
        lz_data_free(s);
        if (!rb) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        st = iw_mean(mod, ws, xsub, rows, K, co.seed, STREAM_IW_TRAIN, &res_train, &err);
        if (st) goto fail;
    }

    lz_progress_end();
    /* evaluation set for latent and recon: the test set, else DATA */
    const lz_data *E = test ? test : train;
    const vae_real *xe = test ? xte : xtr;
    vae_real *xe_bin = NULL;
    size_t ne = E ? E->n : 0;
    if (E == train && train && mod->binarize == VAE_BIN_DYNAMIC) {
        /* the recon inputs must be what the model scores: binarise once */
        if (!(xe_bin = malloc(n * d * sizeof *xe_bin))) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        rb = lz_rng_alloc_stream(co.seed, STREAM_BIN_TRAIN);
        if (!rb) {
            free(xe_bin);
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        vae_to_model_space(mod, train, rb, xe_bin);
        gsl_rng_free(rb);
        xe = xe_bin;
    }
    size_t G = (size_t)o.grid, ns = (size_t)o.n_samples;
    size_t nbuf_rows = ne > G * G ? ne : G * G;
    if (nbuf_rows < ns) nbuf_rows = ns;
    if (nbuf_rows < 2 * N_RECON) nbuf_rows = 2 * N_RECON;
    size_t cols = d > k ? d : k;
    buf = malloc(nbuf_rows * cols * sizeof *buf);
    zbuf = malloc((nbuf_rows > ns ? nbuf_rows : ns) * k * sizeof *zbuf);
    os = lz_outset_alloc();
    if (!buf || !zbuf || !os) {
        free(xe_bin);
        lz_fail(&err, LZ_ENOMEM, "out of memory");
        goto fail;
    }
    char path[4096];
    FILE *f;

    if (!co.load) {
        if ((st = lz_path(path, sizeof path, co.output, "trace.dat", &err)) ||
            (st = write_trace(os, path, &run, &err))) {
            free(xe_bin);
            goto fail;
        }
    }
    if (ne) {
        /* latent: encoder means mu(x) */
        encode_means(mod, ws, xe, ne, buf);
        if ((st = lz_path(path, sizeof path, co.output, "latent.dat", &err)) ||
            (st = lz_dat_write_matrix(os, path, "z", ne, k, buf, E, &err))) {
            free(xe_bin);
            goto fail;
        }
        /* recon: inputs, then E[x | z = mu(x)] */
        size_t nr = ne < N_RECON ? ne : N_RECON;
        if (!(f = open_dat(os, co.output, "recon.dat", &err))) {
            free(xe_bin);
            goto fail;
        }
        fprintf(f, "# sample source");
        for (size_t j = 0; j < d; j++) fprintf(f, " x%zu", j + 1);
        fputc('\n', f);
        vae_encode(mod, ws, xe, nr);
        for (size_t i = 0; i < nr; i++)
            for (size_t j = 0; j < k; j++) zbuf[i * k + j] = ws->head[i * 2 * k + j];
        decode_means(mod, ws, zbuf, nr, buf + nr * d);
        for (size_t i = 0; i < nr; i++)
            for (size_t j = 0; j < d; j++)
                /* inputs as the likelihood models them: Gaussian in data units,
                 * Bernoulli after --scale and binarisation */
                buf[i * d + j] = gaussian ? E->x[i * d + j] : (double)xe[i * d + j];
        for (int src = 0; src < 2; src++)
            for (size_t i = 0; i < nr; i++) {
                fprintf(f, "%zu %d", i + 1, src);
                for (size_t j = 0; j < d; j++) {
                    fputc(' ', f);
                    lz_put_num(f, buf[(src * nr + i) * d + j]);
                }
                fputc('\n', f);
            }
    }
    free(xe_bin);
    xe_bin = NULL;
    /* samples: E[x | z], z ~ N(0, I) */
    {
        gsl_rng *rp = lz_rng_alloc_stream(co.seed, STREAM_PRIOR);
        if (!rp) {
            lz_fail(&err, LZ_ENOMEM, "out of memory");
            goto fail;
        }
        lz_rng_gauss(rp, ns * k, buf);
        gsl_rng_free(rp);
        for (size_t i = 0; i < ns * k; i++) zbuf[i] = (vae_real)buf[i];
        decode_means(mod, ws, zbuf, ns, buf);
        if ((st = lz_path(path, sizeof path, co.output, "samples.dat", &err)) ||
            (st = lz_dat_write_matrix(os, path, "x", ns, d, buf, NULL, &err)))
            goto fail;
    }
    /* manifold: k = 2, z on a G x G grid of normal quantiles */
    if (k == 2) {
        for (size_t r = 0; r < G; r++)
            for (size_t cc = 0; cc < G; cc++) {
                /* row 1 at the top (largest z2), col 1 at the left (smallest z1) */
                zbuf[(r * G + cc) * 2] = (vae_real)gsl_cdf_ugaussian_Pinv((cc + 0.5) / (double)G);
                zbuf[(r * G + cc) * 2 + 1] =
                    (vae_real)gsl_cdf_ugaussian_Pinv((G - r - 0.5) / (double)G);
            }
        decode_means(mod, ws, zbuf, G * G, buf);
        if (!(f = open_dat(os, co.output, "manifold.dat", &err))) goto fail;
        fprintf(f, "# row col z1 z2");
        for (size_t j = 0; j < d; j++) fprintf(f, " x%zu", j + 1);
        fputc('\n', f);
        for (size_t r = 0; r < G; r++)
            for (size_t cc = 0; cc < G; cc++) {
                size_t i = r * G + cc;
                fprintf(f, "%zu %zu ", r + 1, cc + 1);
                lz_put_num(f, zbuf[i * 2]);
                fputc(' ', f);
                lz_put_num(f, zbuf[i * 2 + 1]);
                for (size_t j = 0; j < d; j++) {
                    fputc(' ', f);
                    lz_put_num(f, buf[i * d + j]);
                }
                fputc('\n', f);
            }
    }
    /* summary */
    {
        static const char *const extra[] = {"elbo_train", "elbo_test", "iw_k", "ll_train_rows",
                                            "sigma2"};
        char method[32], path[4096];
        snprintf(method, sizeof method, "iw-%zu", K);
        lz_summary sh = {vae_model_name(mod), gaussian ? "continuous" : "binary",
                         k,                   vae_n_params(mod),
                         res_train.ll,        res_test.ll,
                         res_test.ll_se,      method,
                         epochs_run,          train_seconds};
        if (lz_path(path, sizeof path, co.output, "summary.tsv", &err)) goto fail;
        if (!(f = lz_summary_begin(os, path, &sh, sizeof extra / sizeof extra[0], extra, &err)))
            goto fail;
        fputc('\t', f);
        lz_put_num(f, res_train.elbo);
        fputc('\t', f);
        lz_put_num(f, res_test.elbo);
        fprintf(f, "\t%zu\t%zu\t", K, res_train.rows);
        lz_put_num(f, vae_sigma2(mod));
        fputc('\n', f);
    }
    if (co.save) {
        if (!(f = lz_outset_open(os, co.save, &err))) {
            lz_error_prefix(&err, "--save");
            goto fail;
        }
        vae_write(mod, f);
    }
    if ((st = lz_outset_commit(os, &err))) goto fail;

    /* ---- final report ---- */
    printf("%s: %s, k = %zu, %zu parameters", PROG, vae_model_name(mod), k, vae_n_params(mod));
    if (!co.load) printf(", %d epochs in %.2f s", epochs_run, train_seconds);
    putchar('\n');
    if (nt)
        printf("  test:  ELBO %.4f, log-likelihood (iw-%zu) %.4f +- %.4f nats per sample, %zu rows\n",
               res_test.elbo, K, res_test.ll, res_test.ll_se, nt);
    if (n)
        printf("  train: ELBO %.4f, log-likelihood (iw-%zu) %.4f nats per sample, %zu rows\n",
               res_train.elbo, K, res_train.ll, res_train.rows);
    if (gaussian) printf("  sigma2 %.6g (data units)\n", vae_sigma2(mod));
    printf("  wrote %s.*%s%s\n", co.output, co.save ? " and " : "", co.save ? co.save : "");
    status = 0;
    goto done;
fail:
    lz_progress_end();
    lz_outset_abort(os);
    lz_die_msg(PROG, &err);
done:
    lz_outset_free(os);
    free(run.trace);
    free(xtr);
    free(xte);
    free(xsub);
    free(zbuf);
    free(buf);
    vae_workspace_free(ws);
    vae_free(mod);
    lz_data_free(train);
    lz_data_free(test);
    return status;
}
