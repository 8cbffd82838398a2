/* test_vae_model.c -- the VAE library around the network (double-precision
 * build): configuration, initialisation, model files, the data map and the
 * evaluation's pieces.
 *
 * Truths:
 *  - the defaults pass vae_config_check; each evaluation option out of range
 *    is refused with a message naming it;
 *  - vae_init: the same seed gives the same block, another seed another one;
 *    every weight and bias lies within +-1/sqrt(inputs) (PyTorch's
 *    nn.Linear), the padding, gradients and Adam's moments are zero, a fixed
 *    sigma^2 is stored as log(sigma2 / scale^2);
 *  - a model written and read back is the same model, bit for bit;
 *  - vae_prepare: x / scale, the threshold x~ > 1/2, grey levels kept without
 *    a stream, draws in {0, 1} with mean x~ with one; a value out of [0, 1]
 *    or a wrong width is refused and nothing is returned; the Gaussian map
 *    makes every column's mean 0 and the mean variance 1 (closed form);
 *  - vae_ll_train_rows: min(max, n) distinct rows in increasing order, all
 *    rows when max is 0 or at least n, the same rows on every call;
 *  - vae_evaluate: each of its results equals the piece it is made of, taken
 *    on its own with the stream vae.h assigns to it (the evaluation set is
 *    the test set, else the training set binarised once; recon holds the
 *    inputs as the likelihood sees them, then their reconstructions); the
 *    manifold's grid is the normal quantiles, symmetric about 0.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_cdf.h>

#include "lz_data.h"
#include "lz_out.h"
#include "lz_prob.h"
#include "vae.h"
#include "lz_check.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_vae_double)"
#endif

/* a data set made in memory: x (n, d) of uniform values in [lo, hi] */
static lz_data *make_data(gsl_rng *r, size_t n, size_t d, double lo, double hi)
{
    lz_data *dt = calloc(1, sizeof *dt);
    dt->n = n;
    dt->d = d;
    dt->x = malloc(n * d * sizeof *dt->x);
    dt->path = strdup("data");
    dt->label_field = -1;
    for (size_t i = 0; i < n * d; i++) dt->x[i] = lo + (hi - lo) * gsl_rng_uniform(r);
    return dt;
}

static vae_model *make_model(vae_lik lik, size_t d, size_t k, size_t n_enc)
{
    vae_arch a;
    memset(&a, 0, sizeof a);
    a.d = d;
    a.k = k;
    a.n_enc = n_enc;
    for (size_t l = 0; l < n_enc; l++) a.enc[l] = 5 + l;
    a.n_dec = 1;
    a.dec[0] = 4;
    a.act = VAE_TANH;
    a.lik = lik;
    a.decoder = VAE_DEC_MLP;
    a.learn_sigma2 = lik == VAE_GAUSSIAN;
    lz_error err;
    vae_model *mod = vae_model_alloc(&a, &err);
    ck_assert_msg(mod != NULL, "%s", err.msg);
    return mod;
}

/* ------------------------------------------------------------------ */

/* The defaults that follow the data's shape: k = min(20, d - 1) (1 when
 * d = 1); epochs 10 while an epoch has >= 100 minibatches, else the fewest
 * that make 1000 Adam steps -- so the few-steps note never fires on a
 * default run -- and the epochs a program prints. */
START_TEST(test_defaults_follow_the_data)
{
    static const size_t ds[][2] = {{1, 1}, {2, 1}, {13, 12}, {20, 19}, {21, 20}, {784, 20}};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++)
        ck_assert_uint_eq(vae_default_k(ds[i][0]), ds[i][1]);
    vae_config c;
    vae_config_default(&c);
    ck_assert_int_eq(c.epochs, VAE_EPOCHS_DEFAULT);
    char note[320];
    static const size_t ns[] = {1, 2, 120, 150, 455, 1437, 12671, 12672, 12673, 12800, 60000};
    static const size_t bs[] = {1, 32, 128, 1000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof bs / sizeof bs[0]; j++) {
            size_t n = ns[i], b = bs[j], nb = (n + b - 1) / b;
            int e = vae_default_epochs(n, b);
            if (nb * VAE_EPOCHS_DEFAULT >= VAE_FEW_STEPS) {
                ck_assert_int_eq(e, VAE_EPOCHS_DEFAULT);
            } else { /* the fewest epochs of nb steps reaching 1000 */
                ck_assert_uint_ge((size_t)e * nb, VAE_FEW_STEPS);
                ck_assert_uint_lt((size_t)(e - 1) * nb, VAE_FEW_STEPS);
            }
            c.batch = b;
            c.epochs = e;
            ck_assert_int_eq(vae_steps_note(&c, n, note, sizeof note), 0);
            c.epochs = e - 1;
            if (e > 1 && (size_t)(e - 1) * nb < VAE_FEW_STEPS)
                ck_assert_int_eq(vae_steps_note(&c, n, note, sizeof note), 1);
        }
    ck_assert_int_eq(vae_default_epochs(120, 128), 1000); /* iris, 80 % of it */
    ck_assert_int_eq(vae_default_epochs(60000, 128), 10); /* MNIST */
    int shown = 0;
    for (int e = 1; e <= 100; e++) ck_assert(vae_epoch_shown(e, 100));
    for (int e = 1; e <= 1000; e++) shown += vae_epoch_shown(e, 1000);
    ck_assert_int_eq(shown, 10 + 50); /* 1..10, then 20, 40, .., 1000 */
    ck_assert(vae_epoch_shown(1000, 1000) && vae_epoch_shown(137, 137) &&
              !vae_epoch_shown(11, 1000));
}
END_TEST

START_TEST(test_config_checks)
{
    vae_config c;
    vae_config_default(&c);
    c.arch.d = 64;
    lz_error err;
    ck_assert_msg(vae_config_check(&c, &err) == LZ_OK, "%s", err.msg);
    static const struct {
        int iw_train_rows, n_samples, grid;
        const char *msg;
    } bad[] = {
        {-1, 64, 20, "--iw-train-rows -1: expected >= 0 (0: all)"},
        {0, -1, 20, "--n-samples -1: expected 0 .. 1000000"},
        {0, 1000001, 20, "--n-samples 1000001: expected 0 .. 1000000"},
        {0, 0, 1, "--grid 1: expected 2 .. 1000"},
        {0, 0, 1001, "--grid 1001: expected 2 .. 1000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vae_config b = c;
        b.iw_train_rows = bad[i].iw_train_rows;
        b.n_samples = bad[i].n_samples;
        b.grid = bad[i].grid;
        ck_assert_int_eq(vae_config_check(&b, &err), LZ_EINVAL);
        ck_assert_str_eq(err.msg, bad[i].msg);
    }
    c.iw_train_rows = 0;
    c.n_samples = 0;
    c.grid = 1000;
    ck_assert_msg(vae_config_check(&c, &err) == LZ_OK, "%s", err.msg);
}
END_TEST

START_TEST(test_init)
{
    vae_model *a = make_model(VAE_GAUSSIAN, 7, 3, 2), *b = make_model(VAE_GAUSSIAN, 7, 3, 2);
    lz_error err;
    for (size_t j = 0; j < 7; j++) a->scale[j] = b->scale[j] = 2;
    ck_assert_int_eq(vae_init(a, 3, 0, &err), LZ_OK);
    ck_assert_int_eq(vae_init(b, 3, 0, &err), LZ_OK);
    ck_assert(!memcmp(a->block, b->block, a->n_block * sizeof *a->block));
    /* every tensor: within +-1/sqrt(inputs); a weight's inputs are its columns,
     * and its bias (the next tensor) has the same bound */
    double bound = 0;
    char *inside = calloc(a->n_block, 1);
    for (size_t t = 0; t < a->n_tensors; t++) {
        const vae_tensor *T = &a->t[t];
        memset(inside + T->offset, 1, T->rows * T->cols);
        if (!strcmp(T->name, "log_sigma2")) {
            ck_assert(a->block[T->offset] == 0);
            continue;
        }
        if (strstr(T->name, "_w")) bound = 1 / sqrt((double)T->cols);
        double mx = 0;
        for (size_t i = 0; i < T->rows * T->cols; i++) {
            double v = fabs(a->block[T->offset + i]);
            ck_assert_msg(v <= bound, "%s: %g outside +-%g", T->name, v, bound);
            if (v > mx) mx = v;
        }
        /* and the draws fill the interval */
        if (T->rows * T->cols >= 10) ck_assert_msg(mx > 0.5 * bound, "%s: max %g", T->name, mx);
    }
    /* the padding between tensors */
    for (size_t i = 0; i < a->n_block; i++) ck_assert(inside[i] || a->block[i] == 0);
    free(inside);
    for (size_t i = 0; i < a->n_block; i++)
        ck_assert(a->gblock[i] == 0 && a->adam_m[i] == 0 && a->adam_v[i] == 0);
    ck_assert_int_eq(a->adam_t, 0);
    /* another seed, another block; a fixed sigma^2 in model space: overall,
     * sigma2 / scale^2 (data units); column, sigma2 itself (a fraction of
     * each column's variance) */
    b->standardize = VAE_STD_OVERALL;
    ck_assert_int_eq(vae_init(b, 4, 3.0, &err), LZ_OK);
    ck_assert(memcmp(a->block, b->block, a->n_block * sizeof *a->block));
    ck_assert_double_eq_tol(*b->p.log_sigma2, log(3.0 / 4.0), 1e-15);
    ck_assert_double_eq_tol(vae_sigma2(b), 3.0, 1e-14);
    b->standardize = VAE_STD_COLUMN;
    ck_assert_int_eq(vae_init(b, 4, 3.0, &err), LZ_OK);
    ck_assert_double_eq_tol(*b->p.log_sigma2, log(3.0), 1e-15);
    ck_assert_double_eq_tol(vae_sigma2(b), 3.0, 1e-14);
    vae_model_free(a);
    vae_model_free(b);
}
END_TEST

static char g_dir[] = "/tmp/test_vae_model.XXXXXX";

START_TEST(test_model_file_round_trip)
{
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.vae", g_dir);
    gsl_rng *r = lz_rng_alloc(8);
    for (int lik = 0; lik < 2; lik++) {
        vae_model *m = make_model((vae_lik)lik, 6, 2, lik ? 2 : 1), *m2 = NULL;
        lz_error err;
        for (size_t j = 0; j < 6; j++) m->scale[j] = lik ? 3.5 + 0.25 * (double)j : 3.5;
        m->standardize = lik ? VAE_STD_OVERALL : VAE_STD_COLUMN;
        m->binarize = lik == VAE_BERNOULLI ? VAE_BIN_DYNAMIC : VAE_BIN_NONE;
        for (size_t j = 0; j < 6; j++) m->shift[j] = lik ? 0.1 * (double)j - 0.25 : 0;
        ck_assert_int_eq(vae_init(m, 2, 0, &err), LZ_OK);
        for (size_t t = 0; t < m->n_tensors; t++)
            for (size_t i = 0; i < m->t[t].rows * m->t[t].cols; i++)
                m->block[m->t[t].offset + i] += 0.1 * gsl_rng_uniform(r);
        lz_outset *os = lz_outset_alloc();
        ck_assert_int_eq(vae_model_write(m, os, path, &err), LZ_OK);
        ck_assert_int_eq(lz_outset_commit(os, &err), LZ_OK);
        lz_outset_free(os);
        ck_assert_msg(vae_model_read(path, &m2, &err) == LZ_OK, "%s", err.msg);
        const vae_arch *A = &m->a, *B = &m2->a;
        ck_assert(A->d == B->d && A->k == B->k && A->n_enc == B->n_enc && A->n_dec == B->n_dec);
        ck_assert(!memcmp(A->enc, B->enc, sizeof A->enc) && !memcmp(A->dec, B->dec, sizeof A->dec));
        ck_assert(A->act == B->act && A->lik == B->lik && A->decoder == B->decoder &&
                  A->learn_sigma2 == B->learn_sigma2);
        ck_assert_uint_eq(m->n_block, m2->n_block);
        ck_assert_uint_eq(m->n_tensors, m2->n_tensors);
        ck_assert(!memcmp(m->block, m2->block, m->n_block * sizeof *m->block));
        ck_assert(!memcmp(m->shift, m2->shift, 6 * sizeof *m->shift));
        ck_assert(!memcmp(m->scale, m2->scale, 6 * sizeof *m->scale));
        ck_assert_int_eq(m->standardize, m2->standardize);
        ck_assert_int_eq(m->binarize, m2->binarize);
        ck_assert_uint_eq(vae_n_params(m), vae_n_params(m2));
        ck_assert_str_eq(vae_model_name(m), vae_model_name(m2));
        vae_model_free(m);
        vae_model_free(m2);
    }
    unlink(path);
    rmdir(g_dir);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */

START_TEST(test_prepare_bernoulli)
{
    gsl_rng *r = lz_rng_alloc(5);
    enum { N = 400, D = 5 };
    lz_data *dt = make_data(r, N, D, 0, 4);
    vae_model *m = make_model(VAE_BERNOULLI, D, 2, 1);
    vae_config c;
    vae_config_default(&c);
    c.scale = 4;
    lz_error err;
    double *x = NULL;
    for (int bin = 0; bin < 3; bin++) {
        c.binarize = (vae_bin)bin;
        ck_assert_int_eq(vae_set_data_map(m, &c, dt, NULL, &err), LZ_OK);
        for (size_t j = 0; j < D; j++) ck_assert(m->scale[j] == 4);
        ck_assert_int_eq(vae_prepare(m, dt, NULL, &x, &err), LZ_OK);
        for (size_t i = 0; i < N * D; i++) {
            double v = dt->x[i] / 4;
            ck_assert(x[i] == (bin == VAE_BIN_THRESHOLD ? (v > 0.5 ? 1 : 0) : v));
        }
        free(x);
    }
    /* dynamic with a stream: one draw in {0, 1} of mean x~ */
    gsl_rng *b = lz_rng_alloc(6);
    ck_assert_int_eq(vae_prepare(m, dt, b, &x, &err), LZ_OK);
    double s = 0, sv = 0;
    for (size_t i = 0; i < N * D; i++) {
        ck_assert(x[i] == 0 || x[i] == 1);
        double v = dt->x[i] / 4;
        s += x[i] - v;
        sv += v * (1 - v);
    }
    ck_assert_msg(fabs(s) < 4 * sqrt(sv), "draws - grey levels: %g, sd %g", s, sqrt(sv));
    free(x);
    /* a value above 1 after the scale, a wrong width: refused, nothing returned */
    dt->x[2 * D + 3] = 5;
    x = dt->x; /* must come back NULL */
    ck_assert_int_eq(vae_prepare(m, dt, NULL, &x, &err), LZ_EINVAL);
    ck_assert_ptr_null(x);
    ck_assert_msg(strstr(err.msg, "value 5 after --scale 4 is above 1") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "row 3, column 4") != NULL, "%s", err.msg);
    lz_data *narrow = make_data(r, 3, D - 1, 0, 1);
    ck_assert_int_eq(vae_prepare(m, narrow, NULL, &x, &err), LZ_EINVAL);
    ck_assert_ptr_null(x);
    ck_assert_msg(strstr(err.msg, "4 columns: expected d = 5") != NULL, "%s", err.msg);
    lz_data_free(narrow);
    lz_data_free(dt);
    vae_model_free(m);
    gsl_rng_free(r);
    gsl_rng_free(b);
}
END_TEST

START_TEST(test_prepare_gaussian)
{
    gsl_rng *r = lz_rng_alloc(7);
    enum { N = 300, D = 4 };
    lz_data *dt = make_data(r, N, D, -50, 1000);
    for (size_t i = 0; i < N; i++) dt->x[i * D + 1] *= 0.01; /* columns of different scales */
    vae_model *m = make_model(VAE_GAUSSIAN, D, 2, 1);
    vae_config c;
    vae_config_default(&c);
    c.arch.lik = VAE_GAUSSIAN;
    lz_error err;
    double var[D], *x = NULL;
    /* --standardize overall: (x - mean) / s with s^2 the mean column
     * variance: every column's mean is 0 and the mean of the squares is 1 */
    c.standardize = VAE_STD_OVERALL;
    ck_assert_int_eq(vae_set_data_map(m, &c, dt, var, &err), LZ_OK);
    ck_assert_int_eq(vae_prepare(m, dt, NULL, &x, &err), LZ_OK);
    double ss = 0, mv = 0;
    for (size_t j = 0; j < D; j++) {
        double mu = 0;
        for (size_t i = 0; i < N; i++) mu += x[i * D + j] / N;
        ck_assert_msg(fabs(mu) < 1e-12, "column %zu: mean %g", j, mu);
        for (size_t i = 0; i < N; i++) ss += x[i * D + j] * x[i * D + j] / (N * D);
        mv += var[j] / D;
    }
    ck_assert_double_eq_tol(ss, 1, 1e-12);
    for (size_t j = 0; j < D; j++) ck_assert_double_eq_tol(m->scale[j], sqrt(mv), 1e-9 * sqrt(mv));
    /* densities: log p(x) = log p~(x~) - d log s */
    ck_assert_double_eq_tol(vae_ll_offset(m), -D * log(m->scale[0]), 1e-12);
    free(x);
    /* --standardize column (the default): each column's mean 0 and mean
     * square 1; a constant column is divided by |its value| (0 stays 0) */
    for (size_t i = 0; i < N; i++) dt->x[i * D + 2] = -7.5, dt->x[i * D + 3] = 0;
    c.standardize = VAE_STD_COLUMN;
    ck_assert_int_eq(vae_set_data_map(m, &c, dt, var, &err), LZ_OK);
    ck_assert_int_eq(vae_prepare(m, dt, NULL, &x, &err), LZ_OK);
    double off = 0;
    for (size_t j = 0; j < D; j++) {
        double mu = 0, sq = 0;
        for (size_t i = 0; i < N; i++) mu += x[i * D + j] / N;
        for (size_t i = 0; i < N; i++) sq += x[i * D + j] * x[i * D + j] / N;
        ck_assert_msg(fabs(mu) < 1e-12, "column %zu: mean %g", j, mu);
        double want = j < 2 ? sqrt(var[j]) : j == 2 ? 7.5 : 1.0;
        ck_assert_msg(fabs(m->scale[j] - want) <= 1e-12 * want, "column %zu: scale %g, want %g", j,
                      m->scale[j], want);
        ck_assert_double_eq_tol(sq, j < 2 ? 1.0 : 0.0, 1e-12);
        off -= log(want);
    }
    ck_assert_double_eq_tol(vae_ll_offset(m), off, 1e-12);
    free(x);
    /* every column constant: nothing to standardise */
    for (size_t i = 0; i < N * D; i++) dt->x[i] = 3;
    ck_assert_int_eq(vae_set_data_map(m, &c, dt, NULL, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "every column is constant") != NULL, "%s", err.msg);
    lz_data_free(dt);
    vae_model_free(m);
    gsl_rng_free(r);
}
END_TEST

START_TEST(test_ll_train_rows)
{
    enum { N = 1000 };
    size_t idx[N], idx2[N], rows;
    lz_error err;
    ck_assert_int_eq(vae_ll_train_rows(N, 100, idx, &rows, &err), LZ_OK);
    ck_assert_uint_eq(rows, 100);
    for (size_t i = 1; i < rows; i++) ck_assert(idx[i - 1] < idx[i]);
    /* a permutation of 0..N-1 */
    char seen[N] = {0};
    for (size_t i = 0; i < N; i++) {
        ck_assert(idx[i] < N && !seen[idx[i]]);
        seen[idx[i]] = 1;
    }
    /* not the first rows, not evenly spaced: spread over the whole range */
    ck_assert(idx[0] < 100 && idx[rows - 1] > 900);
    ck_assert_int_eq(vae_ll_train_rows(N, 100, idx2, &rows, &err), LZ_OK);
    ck_assert(!memcmp(idx, idx2, sizeof idx));
    size_t maxes[] = {0, N, 5 * N};
    for (int q = 0; q < 3; q++) {
        ck_assert_int_eq(vae_ll_train_rows(N, maxes[q], idx, &rows, &err), LZ_OK);
        ck_assert_uint_eq(rows, N);
        for (size_t i = 0; i < N; i++) ck_assert_uint_eq(idx[i], i);
    }
}
END_TEST

/* ------------------------------------------------------------------ */

/* the loglik of x (n rows) with the importance samples of stream s */
static vae_loglik_result loglik(const vae_model *m, vae_workspace *ws, const double *x, size_t n,
                                const vae_config *c, vae_stream s)
{
    vae_loglik_result res;
    lz_error err;
    gsl_rng *r = lz_rng_alloc_stream(c->seed, s);
    ck_assert_int_eq(vae_loglik(m, ws, x, n, (size_t)c->iw, r, &res, &err), LZ_OK);
    gsl_rng_free(r);
    return res;
}

static void same_result(const vae_loglik_result *a, const vae_loglik_result *b)
{
    ck_assert_uint_eq(a->rows, b->rows);
    ck_assert(a->ll == b->ll && a->ll_se == b->ll_se && a->elbo == b->elbo);
}

START_TEST(test_evaluate_gaussian)
{
    gsl_rng *r = lz_rng_alloc(9);
    enum { D = 6, N = 150, NT = 70 };
    lz_data *tr = make_data(r, N, D, -1, 3), *te = make_data(r, NT, D, -1, 3);
    vae_config c;
    vae_config_default(&c);
    c.arch.lik = VAE_GAUSSIAN;
    c.iw = 7;
    c.iw_train_rows = 50;
    c.n_samples = 5;
    c.grid = 3;
    c.seed = 12;
    vae_model *m = make_model(VAE_GAUSSIAN, D, 2, 1);
    lz_error err;
    double *xtr, *xte;
    ck_assert_int_eq(vae_set_data_map(m, &c, tr, NULL, &err), LZ_OK);
    ck_assert_int_eq(vae_init(m, 1, 0, &err), LZ_OK);
    ck_assert_int_eq(vae_prepare(m, tr, NULL, &xtr, &err), LZ_OK);
    ck_assert_int_eq(vae_prepare(m, te, NULL, &xte, &err), LZ_OK);
    vae_eval ev;
    ck_assert_msg(vae_evaluate(m, &c, tr, xtr, te, xte, &ev, &err) == LZ_OK, "%s", err.msg);

    /* the pieces on their own, with the workspace vae_evaluate uses */
    vae_workspace *ws = vae_workspace_alloc(m, 2048, &err);
    vae_loglik_result want = loglik(m, ws, xte, NT, &c, VAE_STREAM_IW_TEST);
    same_result(&ev.test, &want);
    ck_assert(isfinite(ev.test.ll) && isfinite(ev.test.elbo) && ev.test.ll_se > 0);
    /* one importance sample a row: an estimate, but no spread to give its
     * error by (NaN, not 0) */
    vae_config c1 = c;
    c1.iw = 1;
    vae_loglik_result one = loglik(m, ws, xte, NT, &c1, VAE_STREAM_IW_TEST);
    ck_assert(isfinite(one.ll) && isnan(one.ll_se));
    size_t idx[N], rows;
    ck_assert_int_eq(vae_ll_train_rows(N, 50, idx, &rows, &err), LZ_OK);
    lz_data *sub = lz_data_subset(tr, idx, rows);
    double *xs;
    ck_assert_int_eq(vae_prepare(m, sub, NULL, &xs, &err), LZ_OK);
    want = loglik(m, ws, xs, rows, &c, VAE_STREAM_IW_TRAIN);
    same_result(&ev.train, &want);
    ck_assert_uint_eq(ev.train.rows, 50);

    /* latent and recon: the test set; recon's inputs in data units */
    ck_assert_ptr_eq(ev.set, te);
    double mu[NT * 2], dec[64 * D];
    vae_encode_means(m, ws, xte, NT, mu);
    ck_assert(!memcmp(ev.latent, mu, sizeof mu));
    ck_assert_uint_eq(ev.n_recon, 64);
    ck_assert(!memcmp(ev.recon, te->x, 64 * D * sizeof *te->x));
    vae_encode(m, ws, xte, 64); /* the 64 rows in one block, as vae_evaluate */
    for (size_t i = 0; i < 64; i++)
        for (size_t j = 0; j < 2; j++) mu[i * 2 + j] = ws->head[i * 4 + j];
    vae_decode_means(m, ws, mu, 64, dec);
    ck_assert(!memcmp(ev.recon + 64 * D, dec, sizeof dec));

    /* samples: the decoder means at draws of VAE_STREAM_PRIOR */
    double z[5 * 2];
    gsl_rng *p = lz_rng_alloc_stream(c.seed, VAE_STREAM_PRIOR);
    lz_rng_gauss(p, 5 * 2, z);
    gsl_rng_free(p);
    vae_decode_means(m, ws, z, 5, dec);
    ck_assert_uint_eq(ev.n_samples, 5);
    ck_assert(!memcmp(ev.samples, dec, 5 * D * sizeof *dec));

    /* the manifold's grid: normal quantiles, z1 rising along a row, z2
     * falling down a column, symmetric about 0 */
    ck_assert_uint_eq(ev.grid, 3);
    for (size_t row = 0; row < 3; row++)
        for (size_t col = 0; col < 3; col++) {
            const double *g = ev.grid_z + (row * 3 + col) * 2;
            ck_assert_double_eq_tol(g[0], gsl_cdf_ugaussian_Pinv((col + 0.5) / 3), 1e-15);
            ck_assert_double_eq_tol(g[1], -ev.grid_z[((2 - row) * 3 + col) * 2 + 1], 1e-12);
            if (row) ck_assert(g[1] < ev.grid_z[((row - 1) * 3 + col) * 2 + 1]);
        }
    ck_assert(ev.grid_z[(1 * 3 + 1) * 2] == 0 && ev.grid_z[(1 * 3 + 1) * 2 + 1] == 0);
    vae_decode_means(m, ws, ev.grid_z, 9, dec);
    ck_assert(!memcmp(ev.grid_x, dec, 9 * D * sizeof *dec));
    vae_eval_free(&ev);

    /* without a test set: the training set; k = 3: no manifold */
    ck_assert_int_eq(vae_evaluate(m, &c, tr, xtr, NULL, NULL, &ev, &err), LZ_OK);
    ck_assert_ptr_eq(ev.set, tr);
    ck_assert_uint_eq(ev.test.rows, 0);
    ck_assert(isnan(ev.test.ll) && isnan(ev.test.ll_se));
    ck_assert(!memcmp(ev.recon, tr->x, 64 * D * sizeof *tr->x));
    vae_eval_free(&ev);
    vae_model *m3 = make_model(VAE_GAUSSIAN, D, 3, 1);
    ck_assert_int_eq(vae_set_data_map(m3, &c, tr, NULL, &err), LZ_OK);
    ck_assert_int_eq(vae_init(m3, 1, 0, &err), LZ_OK);
    ck_assert_int_eq(vae_evaluate(m3, &c, NULL, NULL, te, xte, &ev, &err), LZ_OK);
    ck_assert_uint_eq(ev.grid, 0);
    ck_assert_ptr_null(ev.grid_z);
    ck_assert_uint_eq(ev.train.rows, 0);
    vae_eval_free(&ev);

    vae_workspace_free(ws);
    vae_model_free(m);
    vae_model_free(m3);
    lz_data_free(tr);
    lz_data_free(te);
    lz_data_free(sub);
    free(xtr);
    free(xte);
    free(xs);
    gsl_rng_free(r);
}
END_TEST

/* dynamic binarisation without a test set: latent and recon score the
 * training set binarised once from VAE_STREAM_BIN_EVAL */
START_TEST(test_evaluate_dynamic)
{
    gsl_rng *r = lz_rng_alloc(10);
    enum { D = 5, N = 40 };
    lz_data *tr = make_data(r, N, D, 0, 1);
    vae_config c;
    vae_config_default(&c);
    c.binarize = VAE_BIN_DYNAMIC;
    c.iw = 3;
    c.seed = 5;
    vae_model *m = make_model(VAE_BERNOULLI, D, 2, 1);
    lz_error err;
    double *xtr, *xb;
    ck_assert_int_eq(vae_set_data_map(m, &c, tr, NULL, &err), LZ_OK);
    ck_assert_int_eq(vae_init(m, 1, 0, &err), LZ_OK);
    ck_assert_int_eq(vae_prepare(m, tr, NULL, &xtr, &err), LZ_OK);
    vae_eval ev;
    ck_assert_int_eq(vae_evaluate(m, &c, tr, xtr, NULL, NULL, &ev, &err), LZ_OK);
    gsl_rng *b = lz_rng_alloc_stream(c.seed, VAE_STREAM_BIN_EVAL);
    ck_assert_int_eq(vae_prepare(m, tr, b, &xb, &err), LZ_OK);
    gsl_rng_free(b);
    ck_assert_ptr_eq(ev.set, tr);
    ck_assert_uint_eq(ev.n_recon, N);
    size_t ones = 0;
    for (size_t i = 0; i < N * D; i++) {
        ck_assert(ev.recon[i] == xb[i]);
        ones += xb[i] == 1;
    }
    ck_assert(ones > 0 && ones < N * D);
    /* every row scored, binarised from the same stream: the same draws */
    vae_workspace *ws = vae_workspace_alloc(m, 2048, &err);
    vae_loglik_result want = loglik(m, ws, xb, N, &c, VAE_STREAM_IW_TRAIN);
    same_result(&ev.train, &want);
    vae_workspace_free(ws);
    vae_eval_free(&ev);
    vae_model_free(m);
    lz_data_free(tr);
    free(xtr);
    free(xb);
    gsl_rng_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vae_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_defaults_follow_the_data);
    tcase_add_test(tc, test_config_checks);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_model_file_round_trip);
    tcase_add_test(tc, test_prepare_bernoulli);
    tcase_add_test(tc, test_prepare_gaussian);
    tcase_add_test(tc, test_ll_train_rows);
    tcase_add_test(tc, test_evaluate_gaussian);
    tcase_add_test(tc, test_evaluate_dynamic);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
