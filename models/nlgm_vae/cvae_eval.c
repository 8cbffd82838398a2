/* cvae_eval.c -- what is computed from a trained or loaded VAE with labels
 * (see cvae.h; docs/vae_labels.md, "Evaluation"): the importance-weighted
 * estimates of log p(x | y) (CVAE) and of log p(x) = log sum_y p(y) p(x | y)
 * (M2), M2's classifier, M1's regressions and the baseline, posterior
 * means, and the class x style grid of samples.
 *
 * Calls the network (cvae.c), the regressions (cvae_logreg.c), the model
 * (cvae_model.c) and, for M1, the VAE's evaluation (vae.h); no other file of
 * the library calls this one.
 */
#include "cvae.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_prob.h"
#include "vae_impl.h"

/* ------------------------------------------------------------------ */
/* the importance-weighted estimates */

lz_status cvae_loglik_rows(const cvae_model *mod, cvae_workspace *ws, const vae_real *x,
                           const int *y, size_t n, size_t K, gsl_rng *rng, double *ll, double *elbo,
                           double *var, lz_error *err)
{
    size_t d = mod->a.core.d, k = mod->a.core.k, C = mod->a.C;
    size_t G = y ? 1 : C; /* classes summed over a row */
    if (mod->a.mode == CVAE_MODE_M1)
        return lz_fail(err, LZ_EINVAL, "cvae_loglik_rows: M1 is scored by vae_loglik");
    if (!y && mod->a.mode != CVAE_MODE_M2)
        return lz_fail(err, LZ_EINVAL, "log p(x): the CVAE's bound needs the label");
    size_t chunk = ws->r_max / (K * G);
    if (chunk > ws->mx_max) chunk = ws->mx_max;
    if (K < 1 || chunk < 1)
        return lz_fail(err, LZ_EINVAL, "importance sampling: K = %zu: expected 1 .. %zu", K,
                       ws->r_max / G);
    double off = vae_ll_offset(mod->core), logK = log((double)K), logC = log((double)C);
    ws->bad_row = SIZE_MAX;
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk, E = G * m, R = K * E;
        const vae_real *xc = x + i0 * d;
        for (size_t e = 0; e < E; e++) ws->cls[e] = y ? y[i0 + e] : (int)(e / m);
        if (!y) cvae_cls_forward(mod, ws, xc, m);
        /* z_je ~ Q(z | x, y_e) at decoder row j E + e */
        VAE_GAUSS(rng, R * k, ws->eps);
        cvae_cond_forward(mod, ws, xc, m, E, K);
        for (size_t r = 0; r < R; r++) {
            const vae_real *z = ws->z + r * k, *ep = ws->eps + r * k;
            const vae_real *lv = ws->head + (r % E) * 2 * k + k;
            /* log N(z; 0, I) - log Q(z | x, y) = -1/2 sum_j (z_j^2 - eps_j^2 - lv_j) */
            double s = 0;
            for (size_t j = 0; j < k; j++) s += (double)z[j] * z[j] - (double)ep[j] * ep[j] - lv[j];
            ws->lw[r] = -ws->nll[r] - 0.5 * s;
        }
        for (size_t i = 0; i < m; i++) {
            /* every weight of datum i, over its classes and draws, around
             * the largest: p^(x) = (1/(G K)) sum_cj w_cj */
            double mx = -INFINITY;
            for (size_t c = 0; c < G; c++)
                for (size_t j = 0; j < K; j++) {
                    double w = ws->lw[j * E + c * m + i];
                    if (w > mx) mx = w;
                }
            if (!isfinite(mx)) {
                ws->bad_row = i0 + i;
                return lz_fail(err, LZ_ENUMERIC,
                               "importance sampling: row %zu: a non-finite log-weight", i0 + i + 1);
            }
            double s1 = 0, v = 0;
            for (size_t c = 0; c < G; c++) {
                double a1 = 0, a2 = 0;
                for (size_t j = 0; j < K; j++) {
                    double w = exp(ws->lw[j * E + c * m + i] - mx);
                    a1 += w;
                    a2 += w * w;
                }
                s1 += a1;
                /* Var[p^_c] ~ (1/K) [(1/K) sum w^2 - ((1/K) sum w)^2] */
                v += (a2 / (double)K - (a1 / (double)K) * (a1 / (double)K)) / (double)K;
            }
            /* log p(x | y) = log (1/K) sum_j w_j;  M2: log sum_c (1/C) (1/K) sum_j w_cj */
            double lp = mx + log(s1) - logK - (y ? 0 : logC);
            if (ll) ll[i0 + i] = lp + off;
            /* Var[log p^] ~ Var[p^] / p^2, p^ = (1/(G K)) sum w (in units of e^mx) */
            double ph = s1 / (double)(G * K);
            if (var) var[i0 + i] = v / (double)(G * G) / (ph * ph);
            if (!elbo) continue;
            double b;
            if (y) /* -L(x, y) */
                b = -(ws->rec[i] + ws->kl[i]);
            else {
                /* -U(x) = sum_y q(y | x) [-L(x, y) - log C - log q(y | x)] */
                b = 0;
                for (size_t c = 0; c < C; c++) {
                    size_t e = c * m + i;
                    double q = ws->q[i * C + c];
                    b -= q * (ws->rec[e] + ws->kl[e] + logC + ws->logq[i * C + c]);
                }
            }
            elbo[i0 + i] = b + off;
        }
    }
    return LZ_OK;
}

lz_status cvae_loglik(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                      size_t n, size_t K, gsl_rng *rng, vae_loglik_result *res, lz_error *err)
{
    *res = (vae_loglik_result){.ll = NAN, .ll_se = NAN, .elbo = NAN, .rows = 0};
    if (n == 0) return LZ_OK;
    double *ll = malloc(n * sizeof *ll), *el = malloc(n * sizeof *el),
           *var = malloc(n * sizeof *var);
    lz_status st = ll && el && var ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = cvae_loglik_rows(mod, ws, x, y, n, K, rng, ll, el, var, err);
    if (!st) {
        double sl = 0, se = 0, sv = 0;
        for (size_t i = 0; i < n; i++) {
            sl += ll[i];
            se += el[i];
            sv += var[i] > 0 ? var[i] : 0;
        }
        res->ll = sl / (double)n;
        res->elbo = se / (double)n;
        /* the Monte-Carlo standard error of the mean of n independent estimates */
        /* (one sample a row, K = 1, has no spread to measure it by: NaN, not 0) */
        res->ll_se = K > 1 ? sqrt(sv) / (double)n : NAN;
        res->rows = n;
    }
    free(ll);
    free(el);
    free(var);
    return st;
}

/* ------------------------------------------------------------------ */
/* classes, means, accuracy */

void cvae_classify(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t n,
                   int *pred)
{
    size_t d = mod->a.core.d, C = mod->a.C;
    for (size_t i0 = 0; i0 < n; i0 += ws->mx_max) {
        size_t m = n - i0 < ws->mx_max ? n - i0 : ws->mx_max;
        cvae_cls_forward(mod, ws, x + i0 * d, m);
        for (size_t i = 0; i < m; i++) {
            /* argmax_y q(y | x), the first of equals */
            const double *q = ws->q + i * C;
            size_t best = 0;
            for (size_t c = 1; c < C; c++)
                if (q[c] > q[best]) best = c;
            pred[i0 + i] = (int)best;
        }
    }
}

void cvae_encode_means(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                       size_t n, double *mu)
{
    size_t d = mod->a.core.d, k = mod->a.core.k;
    for (size_t i0 = 0; i0 < n; i0 += ws->mx_max) {
        size_t m = n - i0 < ws->mx_max ? n - i0 : ws->mx_max;
        memcpy(ws->cls, y + i0, m * sizeof *ws->cls);
        cvae_encode(mod, ws, x + i0 * d, m, m);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) mu[(i0 + i) * k + j] = ws->head[i * 2 * k + j];
    }
}

double cvae_accuracy(const int *pred, const int *y, size_t n)
{
    size_t ok = 0, cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0) continue;
        cnt++;
        ok += pred[i] == y[i];
    }
    return cnt ? (double)ok / (double)cnt : NAN;
}

/* ------------------------------------------------------------------ */
/* M1 and the baseline */

/* rows of the regressions' feature blocks */
#define FEATURE_ROWS 2048

/* f (m, k) <- the VAE's encoder means of x (m, d) */
static void vae_means(const cvae_model *mod, vae_workspace *vws, const vae_real *x, size_t m,
                      double *f)
{
    vae_encode_means(mod->core, vws, x, m, f);
}

lz_status cvae_fit_regressions(cvae_model *mod, const cvae_config *c, const vae_real *xtr,
                               const int *ytr, const unsigned char *keep, size_t n, lz_error *err)
{
    size_t d = mod->a.core.d, k = mod->a.core.k, C = mod->a.C, nl = 0;
    int m1 = mod->a.mode == CVAE_MODE_M1;
    if (mod->a.mode == CVAE_MODE_CVAE) return LZ_OK;
    for (size_t i = 0; i < n; i++) nl += keep[i] != 0;
    size_t *idx = malloc((nl ? nl : 1) * sizeof *idx);
    int *y = malloc((nl ? nl : 1) * sizeof *y);
    size_t w = d > k ? d : k;                              /* features of a row */
    double *f = malloc((nl ? nl : 1) * w * sizeof *f);     /* (nl, d) pixels, (nl, k) means */
    vae_real *xl = malloc((nl ? nl : 1) * d * sizeof *xl); /* (nl, d) */
    vae_workspace *vws = NULL;
    lz_status st =
        idx && y && f && xl ? LZ_OK : lz_fail(err, LZ_ENOMEM, "regressions: out of memory");
    if (!st) {
        nl = 0;
        for (size_t i = 0; i < n; i++)
            if (keep[i]) {
                idx[nl] = i;
                y[nl++] = ytr[i];
            }
        VAE_GATHER(d, xtr, idx, nl, xl);
        for (size_t j = 0; j < nl * d; j++) f[j] = xl[j];
        st = cvae_logreg_fit(nl, d, C, f, y, c->l2, mod->raw_w, mod->raw_b, err);
    }
    if (!st && m1) {
        if (!(vws = vae_workspace_alloc(mod->core, FEATURE_ROWS, err))) st = err->status;
        /* M1: the labelled rows' posterior means mu(x) */
        if (!st) vae_means(mod, vws, xl, nl, f);
        if (!st) st = cvae_logreg_fit(nl, k, C, f, y, c->l2, mod->m1_w, mod->m1_b, err);
    }
    vae_workspace_free(vws);
    free(idx);
    free(y);
    free(f);
    free(xl);
    return st;
}

lz_status cvae_predict_regressions(const cvae_model *mod, const vae_real *x, size_t n,
                                   int *pred_raw, int *pred_m1, lz_error *err)
{
    size_t d = mod->a.core.d, k = mod->a.core.k, C = mod->a.C;
    size_t w = d > k ? d : k;                         /* features of a row */
    double *f = malloc(FEATURE_ROWS * w * sizeof *f); /* (rows, d) pixels, (rows, k) means */
    vae_workspace *vws = pred_m1 ? vae_workspace_alloc(mod->core, FEATURE_ROWS, err) : NULL;
    if (!f || (pred_m1 && !vws)) {
        free(f);
        vae_workspace_free(vws);
        return lz_fail(err, LZ_ENOMEM, "regressions: out of memory");
    }
    for (size_t i0 = 0; i0 < n; i0 += FEATURE_ROWS) {
        size_t m = n - i0 < FEATURE_ROWS ? n - i0 : FEATURE_ROWS;
        if (pred_raw) {
            for (size_t j = 0; j < m * d; j++) f[j] = x[i0 * d + j];
            cvae_logreg_predict(m, d, C, f, mod->raw_w, mod->raw_b, pred_raw + i0);
        }
        if (pred_m1) {
            vae_means(mod, vws, x + i0 * d, m, f);
            cvae_logreg_predict(m, k, C, f, mod->m1_w, mod->m1_b, pred_m1 + i0);
        }
    }
    free(f);
    vae_workspace_free(vws);
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* the evaluation of the program */

static lz_status new_stream(unsigned long seed, cvae_stream s, gsl_rng **r, lz_error *err)
{
    *r = lz_rng_alloc_stream(seed, s);
    return *r ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
}

/* the estimate of rows x (n, d) with classes y (CVAE; NULL: M2) from stream s;
 * M1: the VAE's */
static lz_status loglik_stream(const cvae_model *mod, cvae_workspace *ws, vae_workspace *vws,
                               const vae_real *x, const int *y, size_t n, size_t K,
                               unsigned long seed, cvae_stream s, vae_loglik_result *res,
                               lz_error *err)
{
    gsl_rng *r = NULL;
    lz_status st = new_stream(seed, s, &r, err);
    if (!st && mod->a.mode == CVAE_MODE_M1)
        st = vae_loglik(mod->core, vws, x, n, K, r, res, err);
    else if (!st)
        st = cvae_loglik(mod, ws, x, y, n, K, r, res, err);
    gsl_rng_free(r);
    return st;
}

/* the error of the estimate, naming the row of set whose log-weights were
 * not finite (vae_name_bad_row; M1 estimates with the plain VAE's workspace) */
static lz_status name_bad_row(const cvae_model *mod, const cvae_workspace *ws,
                              const vae_workspace *vws, const lz_data *set, const size_t *idx,
                              lz_status st, lz_error *err)
{
    size_t r = mod->a.mode == CVAE_MODE_M1 ? vws->bad_row : ws->bad_row;
    return vae_name_bad_row(st, r, set, idx, err);
}

/* ll_train on the rows of vae_ll_train_rows */
static lz_status ll_train(const cvae_model *mod, cvae_workspace *ws, vae_workspace *vws,
                          const cvae_config *c, const lz_data *train, const vae_real *xtr,
                          const int *ytr, vae_loglik_result *res, lz_error *err)
{
    size_t d = mod->a.core.d, rows = 0, n = train->n;
    size_t *idx = malloc(n * sizeof *idx);
    int *y = malloc(n * sizeof *y);
    vae_real *x = malloc(n * d * sizeof *x);
    lz_status st = idx && y && x ? LZ_OK : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = vae_ll_train_rows(n, (size_t)c->vae.iw_train_rows, idx, &rows, err);
    if (!st) {
        VAE_GATHER(d, xtr, idx, rows, x);
        for (size_t i = 0; ytr && i < rows; i++) y[i] = ytr[idx[i]];
        int cvae = mod->a.mode == CVAE_MODE_CVAE;
        if (!cvae || ytr) {
            st = loglik_stream(mod, ws, vws, x, cvae ? y : NULL, rows, (size_t)c->vae.iw,
                               c->vae.seed, CVAE_STREAM_IW_TRAIN, res, err);
            st = name_bad_row(mod, ws, vws, train, idx, st, err);
        }
    }
    free(idx);
    free(y);
    free(x);
    return st;
}

/* accuracies on rows x (n, d) with classes y (n) (-1: none), restricted to
 * the rows with sel[i] == 0 when sel is given: the model's classifier (M2:
 * q(y | x); M1: the regression on mu(x)) into *acc, the baseline into *raw */
static lz_status accuracies(const cvae_model *mod, cvae_workspace *ws, const vae_real *x,
                            const int *y, const unsigned char *sel, size_t n, double *acc,
                            double *raw, lz_error *err)
{
    int *p = malloc((n ? n : 1) * sizeof *p), *pr = malloc((n ? n : 1) * sizeof *pr);
    int *yy = malloc((n ? n : 1) * sizeof *yy);
    if (!p || !pr || !yy) {
        free(p);
        free(pr);
        free(yy);
        return lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    }
    for (size_t i = 0; i < n; i++) yy[i] = sel && sel[i] ? -1 : y[i];
    lz_status st = LZ_OK;
    if (mod->a.mode == CVAE_MODE_M2) {
        cvae_classify(mod, ws, x, n, p);
        st = cvae_predict_regressions(mod, x, n, pr, NULL, err);
    } else
        st = cvae_predict_regressions(mod, x, n, pr, p, err);
    if (!st) {
        *acc = cvae_accuracy(p, yy, n);
        *raw = cvae_accuracy(pr, yy, n);
    }
    free(p);
    free(pr);
    free(yy);
    return st;
}

/* latent: the encoder means of the rows x (n, d) of set, given the label
 * (CVAE), the classifier's class (M2), or of the VAE (M1) */
static lz_status latent(const cvae_model *mod, cvae_workspace *ws, vae_workspace *vws,
                        const vae_real *x, const int *y, size_t n, cvae_eval *ev, lz_error *err)
{
    size_t k = mod->a.core.k;
    int *p = malloc((n ? n : 1) * sizeof *p);
    ev->latent = malloc((n ? n : 1) * k * sizeof *ev->latent);
    if (!p || !ev->latent) {
        free(p);
        return lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    }
    if (mod->a.mode == CVAE_MODE_M1)
        vae_encode_means(mod->core, vws, x, n, ev->latent);
    else {
        if (mod->a.mode == CVAE_MODE_M2)
            cvae_classify(mod, ws, x, n, p);
        else
            memcpy(p, y, n * sizeof *p);
        cvae_encode_means(mod, ws, x, p, n, ev->latent);
    }
    free(p);
    return LZ_OK;
}

/* samples: the same z_j ~ N(0, I) (stream CVAE_STREAM_PRIOR, drawn as
 * doubles) decoded with every class, class-major; M1: the VAE's */
static lz_status samples(const cvae_model *mod, cvae_workspace *ws, vae_workspace *vws, size_t ns,
                         unsigned long seed, cvae_eval *ev, lz_error *err)
{
    size_t d = mod->a.core.d, k = mod->a.core.k, C = mod->a.C;
    int m1 = mod->a.mode == CVAE_MODE_M1;
    size_t rows = m1 ? ns : C * ns;
    double *g = malloc((ns ? ns : 1) * k * sizeof *g); /* (ns, k) */
    vae_real *z = malloc((rows ? rows : 1) * k * sizeof *z);
    gsl_rng *r = NULL;
    ev->samples = malloc((rows ? rows : 1) * d * sizeof *ev->samples);
    ev->sample_label = m1 ? NULL : malloc((rows ? rows : 1) * sizeof *ev->sample_label);
    lz_status st = g && z && ev->samples && (m1 || ev->sample_label)
                       ? LZ_OK
                       : lz_fail(err, LZ_ENOMEM, "evaluation: out of memory");
    if (!st) st = new_stream(seed, CVAE_STREAM_PRIOR, &r, err);
    if (!st) {
        lz_rng_gauss(r, ns * k, g);
        for (size_t t = 0; t < rows; t++)
            for (size_t j = 0; j < k; j++) z[t * k + j] = (vae_real)g[(t % ns) * k + j];
        if (m1)
            vae_decode_means(mod->core, vws, z, ns, ev->samples);
        else {
            /* row c ns + j: E[x | z_j, y = c] */
            for (size_t t0 = 0; t0 < rows; t0 += ws->e_max) {
                size_t m = rows - t0 < ws->e_max ? rows - t0 : ws->e_max;
                for (size_t t = 0; t < m; t++) ws->cls[t] = (int)((t0 + t) / ns);
                cvae_decode(mod, ws, z + t0 * k, m, m);
                vae_to_data_space(mod->core, m, ws->out, ev->samples + t0 * d);
            }
            for (size_t t = 0; t < rows; t++) ev->sample_label[t] = mod->class_value[t / ns];
        }
        ev->n_samples = ns;
        ev->sample_rows = rows;
    }
    gsl_rng_free(r);
    free(g);
    free(z);
    return st;
}

lz_status cvae_evaluate(const cvae_model *mod, const cvae_config *c, const lz_data *train,
                        const vae_real *xtr, const int *ytr, const unsigned char *keep,
                        const lz_data *test, const vae_real *xte, const int *yte, cvae_eval *ev,
                        lz_error *err)
{
    memset(ev, 0, sizeof *ev);
    ev->train = ev->test = (vae_loglik_result){.ll = NAN, .ll_se = NAN, .elbo = NAN, .rows = 0};
    ev->acc_test = ev->acc_unlab = ev->acc_raw_test = ev->acc_raw_unlab = NAN;
    int m1 = mod->a.mode == CVAE_MODE_M1, m2 = mod->a.mode == CVAE_MODE_M2;
    size_t K = (size_t)c->vae.iw, G = m2 ? mod->a.C : 1;
    /* the estimate: K G decoder rows a datum at least, about 4096 a block;
     * the means, classes and samples: blocks of 2048 rows */
    size_t mi = 4096 / (K * G);
    cvae_workspace *wiw = NULL, *ws = NULL;
    vae_workspace *vws = NULL;
    lz_status st = LZ_OK;
    if (m1) {
        if (!(vws = vae_workspace_alloc(mod->core, K > 2048 ? K : 2048, err))) return err->status;
    } else if (!(wiw = cvae_workspace_alloc(mod, mi ? mi : 1, K, m2, err)) ||
               !(ws = cvae_workspace_alloc(mod, 2048, 1, 0, err))) {
        cvae_workspace_free(wiw);
        return err->status;
    }
    if (test && test->n && (mod->a.mode != CVAE_MODE_CVAE || yte)) {
        st = loglik_stream(mod, wiw, vws, xte, m2 || m1 ? NULL : yte, test->n, K, c->vae.seed,
                           CVAE_STREAM_IW_TEST, &ev->test, err);
        st = name_bad_row(mod, wiw, vws, test, NULL, st, err);
    }
    if (!st && train && train->n) st = ll_train(mod, wiw, vws, c, train, xtr, ytr, &ev->train, err);
    if (!st && mod->a.mode != CVAE_MODE_CVAE) {
        if (test && test->n && yte)
            st =
                accuracies(mod, ws, xte, yte, NULL, test->n, &ev->acc_test, &ev->acc_raw_test, err);
        if (!st && train && train->n && ytr && keep)
            st = accuracies(mod, ws, xtr, ytr, keep, train->n, &ev->acc_unlab, &ev->acc_raw_unlab,
                            err);
    }
    const lz_data *set = test ? test : train;
    if (!st && set && set->n) {
        ev->set = set;
        st = latent(mod, ws, vws, test ? xte : xtr, test ? yte : ytr, set->n, ev, err);
    }
    if (!st) st = samples(mod, ws, vws, (size_t)c->vae.n_samples, c->vae.seed, ev, err);
    cvae_workspace_free(wiw);
    cvae_workspace_free(ws);
    vae_workspace_free(vws);
    return st;
}

void cvae_eval_free(cvae_eval *ev)
{
    free(ev->latent);
    free(ev->samples);
    free(ev->sample_label);
    ev->latent = ev->samples = ev->sample_label = NULL;
}
