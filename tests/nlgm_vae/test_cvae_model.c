/* test_cvae_model.c -- the VAE with labels around its network, in double
 * precision (lznlgm_cvae_double).
 *
 * Truths:
 *  - a linear Gaussian CVAE / M2 (decoder x = A z + b + B_y + N(0, s2 I), A
 *    with orthogonal columns) has the closed forms p(x | y) = N(b + B_y,
 *    A A^T + s2 I), a diagonal posterior p(z | x, y) that linear encoder heads
 *    hold exactly, and a posterior p(y | x) that a linear classifier holds
 *    exactly; with those, the importance-weighted estimates of log p(x | y)
 *    and of log p(x) = log sum_y p(x | y) / C, and both bounds (-L and -U),
 *    equal the closed forms (every importance weight is the same);
 *  - the samples file's grid: row c n + j is A z_j + b + B_c with the same
 *    z_j ~ N(0, I) (stream CVAE_STREAM_PRIOR) in every class; the latent
 *    file's means are the exact posterior means;
 *  - the rows that keep their labels: as many as asked, balanced over the
 *    classes (short classes give their share to the others), the same for a
 *    seed, others for another;
 *  - class codes by value and by name, and the refusals;
 *  - model files read back bit for bit (each mode, numbers and words);
 *  - the configuration's checks name the option.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvae.h"
#include "lz_check.h"
#include "lz_linalg.h"
#include "lz_out.h"
#include "lz_prob.h"

#ifndef VAE_DOUBLE
#error "this test needs the double-precision build (lznlgm_cvae_double)"
#endif

/* ------------------------------------------------------------------ */
/* the linear Gaussian M2 with its exact posteriors */

enum { D = 5, K = 2, C = 3, N = 40 };

typedef struct {
    double A[D * K], b[D], B[C * D], s2;
    double S[D * D];  /* A A^T + s2 I    */
    double Si[D * D]; /* its inverse     */
} truth;

static cvae_model *linear_model(cvae_mode mode, truth *t)
{
    cvae_arch a;
    memset(&a, 0, sizeof a);
    a.core = (vae_arch){.d = D,
                        .k = K,
                        .n_enc = 0,
                        .n_dec = 0,
                        .act = VAE_RELU,
                        .lik = VAE_GAUSSIAN,
                        .decoder = VAE_DEC_LINEAR,
                        .learn_sigma2 = 1};
    a.mode = mode;
    a.C = C;
    lz_error err;
    cvae_model *mod = cvae_model_alloc(&a, &err);
    ck_assert_msg(mod != NULL, "%s", err.msg);
    ck_assert_int_eq(cvae_init(mod, 1, 0, &err), LZ_OK);
    /* A: columns e_1 * 1.5 and e_2 * 0.8 + e_3 * 0.6 (orthogonal), b, B_y */
    memset(t, 0, sizeof *t);
    t->A[0 * K + 0] = 1.5;
    t->A[1 * K + 1] = 0.8;
    t->A[2 * K + 1] = 0.6;
    for (size_t j = 0; j < D; j++) t->b[j] = 0.3 * (double)j - 0.5;
    for (size_t c = 0; c < C; c++)
        for (size_t j = 0; j < D; j++) t->B[c * D + j] = (c + 1.0) * ((j + c) % 2 ? 0.7 : -0.4);
    t->s2 = 0.5;
    vae_params *p = &mod->core->p;
    memcpy(p->out_w, t->A, sizeof t->A);
    memcpy(p->out_b, t->b, sizeof t->b);
    memcpy(mod->p.dec_y, t->B, sizeof t->B);
    *p->log_sigma2 = log(t->s2);
    /* M = A^T A + s2 I is diagonal: the posterior N(M^-1 A^T (x - b - B_y), s2 M^-1) */
    double Mjj[K];
    for (size_t j = 0; j < K; j++) {
        Mjj[j] = t->s2;
        for (size_t i = 0; i < D; i++) Mjj[j] += t->A[i * K + j] * t->A[i * K + j];
    }
    memset(p->head_w, 0, 2 * K * D * sizeof(double));
    for (size_t j = 0; j < K; j++) {
        double hb = 0;
        for (size_t i = 0; i < D; i++) {
            p->head_w[j * D + i] = t->A[i * K + j] / Mjj[j];
            hb -= t->A[i * K + j] / Mjj[j] * t->b[i];
        }
        p->head_b[j] = hb;
        p->head_b[K + j] = log(t->s2 / Mjj[j]);
        for (size_t c = 0; c < C; c++) {
            double e = 0;
            for (size_t i = 0; i < D; i++) e -= t->A[i * K + j] / Mjj[j] * t->B[c * D + i];
            mod->p.enc_y[c * 2 * K + j] = e;
            mod->p.enc_y[c * 2 * K + K + j] = 0;
        }
    }
    /* S = A A^T + s2 I and its inverse */
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double s = i == j ? t->s2 : 0;
            for (size_t q = 0; q < K; q++) s += t->A[i * K + q] * t->A[j * K + q];
            t->S[i * D + j] = t->Si[i * D + j] = s;
        }
    ck_assert_int_eq(lz_spd_inv(D, t->Si, NULL, &err), LZ_OK);
    if (mode == CVAE_MODE_M2) {
        /* p(y | x) = softmax_y [(x - b)^T S^-1 B_y - B_y^T S^-1 B_y / 2] */
        for (size_t c = 0; c < C; c++) {
            double bias = 0;
            for (size_t i = 0; i < D; i++) {
                double w = 0;
                for (size_t j = 0; j < D; j++) w += t->Si[i * D + j] * t->B[c * D + j];
                mod->p.cls_out_w[c * D + i] = w;
                bias -= (t->b[i] + 0.5 * t->B[c * D + i]) * w;
            }
            mod->p.cls_out_b[c] = bias;
        }
    }
    return mod;
}

/* log p(x | y) = log N(x; b + B_y, S) */
static double exact_cond(const truth *t, const double *x, size_t c)
{
    double mu[D], out;
    lz_error err;
    for (size_t j = 0; j < D; j++) mu[j] = t->b[j] + t->B[c * D + j];
    ck_assert_int_eq(lz_mvn_logpdf(1, D, x, mu, t->S, &out, &err), LZ_OK);
    return out;
}

static void draw_x(double *x, size_t n, unsigned long seed)
{
    gsl_rng *r = lz_rng_alloc(seed);
    lz_rng_gauss(r, n * D, x);
    for (size_t i = 0; i < n * D; i++) x[i] *= 1.5;
    gsl_rng_free(r);
}

START_TEST(test_linear_exact_estimates)
{
    truth t;
    double x[N * D];
    draw_x(x, N, 4);
    for (int mode = 0; mode < 2; mode++) {
        cvae_model *mod = linear_model(mode ? CVAE_MODE_M2 : CVAE_MODE_CVAE, &t);
        lz_error err;
        cvae_workspace *ws = cvae_workspace_alloc(mod, 8, 2000, mode, &err);
        ck_assert_ptr_nonnull(ws);
        gsl_rng *r = lz_rng_alloc(2);
        double ll[N], el[N], var[N];
        int y[N];
        for (size_t i = 0; i < N; i++) y[i] = (int)(i % C);
        /* log p(x | y): every weight the same, whatever K; the bound -L
         * (analytic KL, K draws of the reconstruction term) is exact in
         * expectation: with K = 2000 its draws' standard error is near 0.03 */
        ck_assert_int_eq(cvae_loglik_rows(mod, ws, x, y, N, 7, r, ll, el, var, &err), LZ_OK);
        for (size_t i = 0; i < N; i++) {
            double ex = exact_cond(&t, x + i * D, (size_t)y[i]);
            ck_assert_msg(fabs(ll[i] - ex) < 1e-10 * fabs(ex),
                          "row %zu: log p(x|y) %.15g, exact %.15g", i, ll[i], ex);
            ck_assert_msg(fabs(var[i]) < 1e-12, "row %zu: variance %g", i, var[i]);
        }
        ck_assert_int_eq(cvae_loglik_rows(mod, ws, x, y, N, 2000, r, ll, el, var, &err), LZ_OK);
        for (size_t i = 0; i < N; i++) {
            double ex = exact_cond(&t, x + i * D, (size_t)y[i]);
            ck_assert_msg(fabs(el[i] - ex) < 0.2, "row %zu: -L(x,y) %.15g, exact %.15g", i, el[i],
                          ex);
        }
        if (mode) {
            /* log p(x) = log sum_y p(x | y) / C; -U = log p(x) when q(y|x) = p(y|x) */
            for (size_t Kk = 2; Kk <= 2000; Kk *= 1000) {
                ck_assert_int_eq(cvae_loglik_rows(mod, ws, x, NULL, N, Kk, r, ll, el, var, &err),
                                 LZ_OK);
                for (size_t i = 0; i < N; i++) {
                    double a[C];
                    for (size_t c = 0; c < C; c++)
                        a[c] = exact_cond(&t, x + i * D, c) - log((double)C);
                    double ex = lz_logsumexp(C, a);
                    ck_assert_msg(fabs(ll[i] - ex) < 1e-10 * fabs(ex),
                                  "row %zu: log p(x) %.15g, exact %.15g", i, ll[i], ex);
                    if (Kk == 2000)
                        ck_assert_msg(fabs(el[i] - ex) < 0.2, "row %zu: -U(x) %.15g, exact %.15g",
                                      i, el[i], ex);
                }
            }
            /* the classifier is p(y | x): the most probable class */
            int pred[N];
            cvae_classify(mod, ws, x, N, pred);
            for (size_t i = 0; i < N; i++) {
                size_t best = 0;
                for (size_t c = 1; c < C; c++)
                    if (exact_cond(&t, x + i * D, c) > exact_cond(&t, x + i * D, best)) best = c;
                ck_assert_int_eq(pred[i], (int)best);
            }
        } else {
            /* the CVAE has no log p(x) */
            ck_assert_int_ne(cvae_loglik_rows(mod, ws, x, NULL, N, 2, r, ll, el, var, &err), LZ_OK);
        }
        gsl_rng_free(r);
        cvae_workspace_free(ws);
        cvae_model_free(mod);
    }
}
END_TEST

START_TEST(test_samples_grid_and_means)
{
    truth t;
    cvae_model *mod = linear_model(CVAE_MODE_CVAE, &t);
    double x[N * D];
    int y[N];
    draw_x(x, N, 6);
    for (size_t i = 0; i < N; i++) y[i] = (int)((i * 7) % C);
    lz_data test = {.n = N, .d = D, .x = x, .path = "test"};
    cvae_config c;
    cvae_config_default(&c);
    c.vae.iw = 3;
    c.vae.n_samples = 4;
    c.vae.seed = 12;
    cvae_eval ev;
    lz_error err;
    ck_assert_msg(cvae_evaluate(mod, &c, NULL, NULL, NULL, NULL, &test, x, y, &ev, &err) == LZ_OK,
                  "%s", err.msg);
    ck_assert_uint_eq(ev.sample_rows, C * 4);
    ck_assert_uint_eq(ev.n_samples, 4);
    double z[4 * K];
    gsl_rng *r = lz_rng_alloc_stream(12, CVAE_STREAM_PRIOR);
    lz_rng_gauss(r, 4 * K, z);
    gsl_rng_free(r);
    for (size_t cc = 0; cc < C; cc++)
        for (size_t j = 0; j < 4; j++) {
            size_t row = cc * 4 + j;
            ck_assert(ev.sample_label[row] == (double)cc);
            for (size_t i = 0; i < D; i++) {
                /* E[x | z_j, y = c] = A z_j + b + B_c */
                double want = t.b[i] + t.B[cc * D + i];
                for (size_t q = 0; q < K; q++) want += t.A[i * K + q] * z[j * K + q];
                ck_assert_msg(fabs(ev.samples[row * D + i] - want) < 1e-12,
                              "sample of class %zu, z %zu, pixel %zu: %.15g, expected %.15g", cc, j,
                              i, ev.samples[row * D + i], want);
            }
        }
    /* latent: the exact posterior means given the label */
    for (size_t i = 0; i < N; i++)
        for (size_t q = 0; q < K; q++) {
            double m = t.s2, s = 0;
            for (size_t j = 0; j < D; j++) m += t.A[j * K + q] * t.A[j * K + q];
            for (size_t j = 0; j < D; j++)
                s += t.A[j * K + q] * (x[i * D + j] - t.b[j] - t.B[y[i] * D + j]);
            ck_assert_msg(fabs(ev.latent[i * K + q] - s / m) < 1e-12, "latent row %zu", i);
        }
    /* the test estimate is the mean of the exact values, with no error */
    double ex = 0;
    for (size_t i = 0; i < N; i++) ex += exact_cond(&t, x + i * D, (size_t)y[i]) / N;
    ck_assert_msg(fabs(ev.test.ll - ex) < 1e-10 * fabs(ex), "ll_test %.15g, exact %.15g",
                  ev.test.ll, ex);
    ck_assert_msg(ev.test.ll_se < 1e-6, "ll_test_se %g", ev.test.ll_se);
    ck_assert(isnan(ev.acc_test));
    cvae_eval_free(&ev);
    cvae_model_free(mod);
}
END_TEST

/* ------------------------------------------------------------------ */
/* labels */

START_TEST(test_choose_labels)
{
    enum { NN = 1000 };
    int codes[NN];
    /* class 3 has 4 rows only; the others share the rest */
    for (size_t i = 0; i < NN; i++) codes[i] = i % 250 < 4 ? 3 : (int)(i % 3);
    unsigned char k1[NN], k2[NN], k3[NN];
    lz_error err;
    for (size_t nl = 4; nl <= 100; nl += 7) {
        ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, nl, 5, k1, &err), LZ_OK);
        size_t cnt[4] = {0}, tot = 0;
        for (size_t i = 0; i < NN; i++)
            if (k1[i]) {
                cnt[codes[i]]++;
                tot++;
            }
        ck_assert_uint_eq(tot, nl);
        /* balanced: each class nl/4 or one more, class 3 at most its 16 rows,
         * the others within one of each other */
        size_t share = nl / 4;
        ck_assert(cnt[3] <= 16 && cnt[3] >= (share < 16 ? share : 16));
        for (size_t cc = 0; cc < 3; cc++) {
            ck_assert_msg(cnt[cc] >= share, "nl %zu: class %zu has %zu labels", nl, cc, cnt[cc]);
            for (size_t c2 = 0; c2 < 3; c2++) ck_assert(cnt[cc] <= cnt[c2] + 1);
        }
    }
    /* a short class gives its share to the others */
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, 200, 5, k1, &err), LZ_OK);
    size_t c3 = 0;
    for (size_t i = 0; i < NN; i++) c3 += k1[i] && codes[i] == 3;
    ck_assert_uint_eq(c3, 16);
    /* the same for a seed, others for another */
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, 50, 5, k1, &err), LZ_OK);
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, 50, 5, k2, &err), LZ_OK);
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, 50, 6, k3, &err), LZ_OK);
    ck_assert(!memcmp(k1, k2, NN));
    ck_assert(memcmp(k1, k3, NN));
    /* refusals */
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, NN + 1, 5, k1, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--n-labels 1001: expected at most the 1000 training rows"), "%s",
                  err.msg);
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, 3, 5, k1, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "at least one label per class (4 classes)"), "%s", err.msg);
    /* all of them */
    ck_assert_int_eq(cvae_choose_labels(codes, NN, 4, NN, 5, k1, &err), LZ_OK);
    for (size_t i = 0; i < NN; i++) ck_assert(k1[i]);
}
END_TEST

static cvae_model *tiny_model(cvae_mode mode, size_t Cc)
{
    cvae_arch a;
    memset(&a, 0, sizeof a);
    a.core = (vae_arch){.d = 3,
                        .k = 2,
                        .n_enc = 1,
                        .enc = {4},
                        .n_dec = 1,
                        .dec = {4},
                        .act = VAE_TANH,
                        .lik = VAE_BERNOULLI,
                        .decoder = VAE_DEC_MLP};
    a.mode = mode;
    a.C = Cc;
    a.n_cls = 1;
    a.cls[0] = 5;
    lz_error err;
    cvae_model *m = cvae_model_alloc(&a, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

START_TEST(test_label_codes)
{
    double xs[6 * 3] = {0}, ys[6] = {7, -1, 7, 2.5, -1, 2.5};
    lz_data tr = {.n = 6, .d = 3, .x = xs, .y = ys, .path = "train.csv"};
    size_t Cc;
    lz_error err;
    ck_assert_int_eq(cvae_count_classes(&tr, &Cc, &err), LZ_OK);
    ck_assert_uint_eq(Cc, 3);
    cvae_model *m = tiny_model(CVAE_MODE_CVAE, 3);
    ck_assert_int_eq(cvae_set_classes(m, &tr, &err), LZ_OK);
    /* numbers: the classes in increasing order */
    ck_assert(m->class_value[0] == -1 && m->class_value[1] == 2.5 && m->class_value[2] == 7);
    int codes[6];
    ck_assert_int_eq(cvae_label_codes(m, &tr, codes, &err), LZ_OK);
    int want[6] = {2, 0, 2, 1, 0, 1};
    for (size_t i = 0; i < 6; i++) ck_assert_int_eq(codes[i], want[i]);
    /* a label that is not a class: the row is named */
    size_t lines[6] = {2, 3, 4, 5, 6, 9};
    double yb[6] = {7, -1, 7, 2.5, 3, 2.5};
    lz_data te = {.n = 6, .d = 3, .x = xs, .y = yb, .path = "test.csv", .line = lines};
    ck_assert_int_eq(cvae_label_codes(m, &te, codes, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "test.csv:6: label 3: not one of the 3 classes"), "%s", err.msg);
    /* no labels */
    lz_data none = {.n = 6, .d = 3, .x = xs, .path = "nolab.csv"};
    ck_assert_int_eq(cvae_label_codes(m, &none, codes, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "nolab.csv: no labels"), "%s", err.msg);
    ck_assert_int_eq(cvae_count_classes(&none, &Cc, &err), LZ_EINVAL);
    /* one class */
    double y1[6] = {1, 1, 1, 1, 1, 1};
    lz_data one = {.n = 6, .d = 3, .x = xs, .y = y1, .path = "one.csv"};
    ck_assert_int_eq(cvae_count_classes(&one, &Cc, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "one class"), "%s", err.msg);
    cvae_model_free(m);
    /* words: codes of the training set, names matched in another file's order */
    char *n1[] = {"Iris setosa", "versicolor"}, *n2[] = {"versicolor", "Iris setosa", "virginica"};
    double yw[4] = {0, 1, 1, 0}, yt[3] = {1, 0, 2};
    lz_data wt = {
        .n = 4, .d = 3, .x = xs, .y = yw, .label_names = n1, .n_classes = 2, .path = "w.csv"};
    lz_data ws = {
        .n = 3, .d = 3, .x = xs, .y = yt, .label_names = n2, .n_classes = 3, .path = "v.csv"};
    m = tiny_model(CVAE_MODE_M2, 2);
    ck_assert_int_eq(cvae_set_classes(m, &wt, &err), LZ_OK);
    ck_assert_str_eq(m->class_name[0], "Iris setosa");
    ck_assert_int_eq(cvae_label_codes(m, &ws, codes, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "v.csv: row 3: label 'virginica': not one of the 2 classes"),
                  "%s", err.msg);
    ws.n = 2;
    ck_assert_int_eq(cvae_label_codes(m, &ws, codes, &err), LZ_OK);
    ck_assert_int_eq(codes[0], 0);
    ck_assert_int_eq(codes[1], 1);
    /* numbers against a model of words */
    ck_assert_int_eq(cvae_label_codes(m, &tr, codes, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "the labels are numbers but the model's classes are words"), "%s",
                  err.msg);
    cvae_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* model files */

static char g_dir[] = "/tmp/test_cvae_model.XXXXXX";

START_TEST(test_model_file_round_trip)
{
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.cvae", g_dir);
    gsl_rng *r = lz_rng_alloc(8);
    char *names[] = {"a b", "c", "d"};
    double yw[3] = {0, 1, 2}, xs[9] = {0};
    lz_data wt = {
        .n = 3, .d = 3, .x = xs, .y = yw, .label_names = names, .n_classes = 3, .path = "w"};
    for (int mode = 0; mode < 3; mode++) {
        cvae_model *m = tiny_model((cvae_mode)mode, 3), *m2 = NULL;
        lz_error err;
        ck_assert_int_eq(cvae_init(m, 2, 0, &err), LZ_OK);
        if (mode == 1)
            ck_assert_int_eq(cvae_set_classes(m, &wt, &err), LZ_OK);
        else
            for (size_t c = 0; c < 3; c++) m->class_value[c] = 0.5 * (double)c - 1;
        for (size_t j = 0; j < m->core->a.d; j++) m->core->scale[j] = 2.5 + (double)j;
        m->core->binarize = VAE_BIN_DYNAMIC;
        for (size_t t = 0; t < m->n_tensors; t++)
            for (size_t i = 0; i < m->t[t].rows * m->t[t].cols; i++)
                m->block[m->t[t].offset + i] += 0.1 * gsl_rng_uniform(r);
        for (size_t i = 0; i < 3 * 3 + 3 + 3 * 2 + 3; i++) m->raw_w[i] = gsl_rng_uniform(r) - 0.5;
        lz_outset *os = lz_outset_alloc();
        ck_assert_int_eq(cvae_model_write(m, os, path, &err), LZ_OK);
        ck_assert_int_eq(lz_outset_commit(os, &err), LZ_OK);
        lz_outset_free(os);
        ck_assert_msg(cvae_model_read(path, &m2, &err) == LZ_OK, "%s", err.msg);
        ck_assert_int_eq(m2->a.mode, mode);
        ck_assert_uint_eq(m2->a.C, 3);
        ck_assert_uint_eq(m2->a.n_cls, mode == 1 ? 1 : 0);
        ck_assert(!memcmp(m->core->block, m2->core->block, m->core->n_block * sizeof(double)));
        ck_assert_uint_eq(m->n_block, m2->n_block);
        ck_assert(!memcmp(m->block, m2->block, m->n_block * sizeof(double)));
        ck_assert(!memcmp(m->core->scale, m2->core->scale, m->core->a.d * sizeof(double)));
        ck_assert(m2->core->binarize == VAE_BIN_DYNAMIC);
        ck_assert_str_eq(cvae_model_name(m), cvae_model_name(m2));
        ck_assert_uint_eq(cvae_n_params(m), cvae_n_params(m2));
        for (size_t c = 0; c < 3; c++) ck_assert(m->class_value[c] == m2->class_value[c]);
        if (mode == 1) {
            /* names are one word in the file: blanks as '_', matched either way */
            ck_assert_str_eq(m2->class_name[0], "a_b");
            ck_assert_str_eq(m2->class_name[2], "d");
            int codes[3];
            ck_assert_int_eq(cvae_label_codes(m2, &wt, codes, &err), LZ_OK);
            ck_assert(codes[0] == 0 && codes[1] == 1 && codes[2] == 2);
        } else
            ck_assert_ptr_null(m2->class_name);
        /* the regressions: M1 and M2 keep the baseline, M1 its own */
        size_t nr = mode == 0 ? 0 : mode == 1 ? 3 * 3 + 3 : 3 * 3 + 3 + 3 * 2 + 3;
        ck_assert(!memcmp(m->raw_w, m2->raw_w, nr * sizeof(double)));
        cvae_model_free(m);
        cvae_model_free(m2);
    }
    unlink(path);
    rmdir(g_dir);
    gsl_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* configuration */

START_TEST(test_config_checks)
{
    cvae_config c;
    lz_error err;
    cvae_config_default(&c);
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_OK);
    ck_assert_int_eq(c.vae.n_samples, 10);
    ck_assert(isnan(c.alpha));
    ck_assert(cvae_alpha(&c, 500) == 50);
    c.alpha = 3;
    ck_assert(cvae_alpha(&c, 500) == 3);
    cvae_config_default(&c);
    c.alpha = -1;
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--alpha -1"), "%s", err.msg);
    cvae_config_default(&c);
    c.l2 = 0;
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--l2 0"), "%s", err.msg);
    cvae_config_default(&c);
    c.n_labels = 0;
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--n-labels 0"), "%s", err.msg);
    cvae_config_default(&c);
    c.cls[0] = 0;
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--cls-hidden"), "%s", err.msg);
    /* the VAE's own checks come first */
    cvae_config_default(&c);
    c.vae.iw = 0;
    ck_assert_int_eq(cvae_config_check(&c, &err), LZ_EINVAL);
    ck_assert_msg(strstr(err.msg, "--iw 0"), "%s", err.msg);
    /* a model of one class, or of too many */
    cvae_arch a = {.core = {.d = 3, .k = 1, .decoder = VAE_DEC_LINEAR}, .C = 1};
    ck_assert_ptr_null(cvae_model_alloc(&a, &err));
    a.C = CVAE_MAX_CLASSES + 1;
    ck_assert_ptr_null(cvae_model_alloc(&a, &err));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cvae_model");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_linear_exact_estimates);
    tcase_add_test(tc, test_samples_grid_and_means);
    tcase_add_test(tc, test_choose_labels);
    tcase_add_test(tc, test_label_codes);
    tcase_add_test(tc, test_model_file_round_trip);
    tcase_add_test(tc, test_config_checks);
    suite_add_tcase(s, tc);
    return lz_check_main(s);
}
