/* cvae.c -- the VAE with labels: workspace, the conditional passes, the
 * classifier q(y | x), M2's two bounds, Adam and the training loop cvae_fit
 * (see cvae.h; docs/vae_labels.md).  Calls the VAE's layers (vae_layers.c),
 * its Adam and data map (vae.h) and the model (cvae_model.c).
 *
 * The derivation this code follows (docs/vae_labels.md, "The conditional
 * bound" and "M2"): for a labelled row, the CVAE's loss
 *   L(x, y) = -E_Q[log p(x | z, y)] + KL(Q(z | x, y) || N(0, I))
 * by the VAE's reparameterised draws and closed-form KL; for an unlabelled
 * row (M2), y is summed out under the classifier:
 *   U(x) = sum_y q(y | x) [L(x, y) - log p(y)] - H(q(y | x)),
 * and each labelled row adds alpha times the classifier's -log q(y | x).
 */
#include "cvae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_data.h"
#include "lz_prob.h"
#include "lz_time.h"
#include "vae_impl.h"

/* ------------------------------------------------------------------ */
/* workspace */

cvae_workspace *cvae_workspace_alloc(const cvae_model *mod, size_t mx_max, size_t L, int unlabelled,
                                     lz_error *err)
{
    const vae_arch *a = &mod->a.core;
    size_t C = mod->a.C, E = unlabelled ? C * mx_max : mx_max, R = L * E;
    size_t n1 = cvae_enc_first(a);
    cvae_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) goto oom;
    ws->mx_max = mx_max;
    ws->e_max = E;
    ws->r_max = R;
    int ok = 1;
#define WS_REALS(ptr, rows, cols) ok &= ((ptr) = vae_alloc_reals((rows) * (cols))) != NULL
#define WS_DOUBLES(ptr, rows) ok &= ((ptr) = calloc((rows), sizeof(double))) != NULL
    WS_REALS(ws->x, mx_max, a->d);
    ok &= (ws->cls = calloc(E, sizeof *ws->cls)) != NULL;
    WS_REALS(ws->pre, mx_max, n1);
    WS_REALS(ws->dpre, mx_max, n1);
    for (size_t l = 0; l < a->n_enc; l++) {
        WS_REALS(ws->enc_h[l], E, a->enc[l]);
        WS_REALS(ws->enc_dh[l], E, a->enc[l]);
    }
    WS_REALS(ws->head, E, 2 * a->k);
    WS_REALS(ws->dhead, E, 2 * a->k);
    WS_REALS(ws->eps, R, a->k);
    WS_REALS(ws->z, R, a->k);
    WS_REALS(ws->dz, R, a->k);
    for (size_t l = 0; l < a->n_dec; l++) {
        WS_REALS(ws->dec_h[l], R, a->dec[l]);
        WS_REALS(ws->dec_dh[l], R, a->dec[l]);
    }
    WS_REALS(ws->out, R, a->d);
    WS_REALS(ws->p, R, a->d);
    WS_REALS(ws->dout, R, a->d);
    WS_DOUBLES(ws->nll, R);
    WS_DOUBLES(ws->sq, R);
    WS_DOUBLES(ws->lw, R);
    WS_DOUBLES(ws->kl, E);
    WS_DOUBLES(ws->rec, E);
    WS_DOUBLES(ws->w, E);
    WS_DOUBLES(ws->u, mx_max);
    if (mod->a.mode == CVAE_MODE_M2) {
        for (size_t l = 0; l < mod->a.n_cls; l++) {
            WS_REALS(ws->cls_h[l], mx_max, mod->a.cls[l]);
            WS_REALS(ws->cls_dh[l], mx_max, mod->a.cls[l]);
        }
        WS_REALS(ws->logits, mx_max, C);
        WS_REALS(ws->dlogits, mx_max, C);
        WS_DOUBLES(ws->q, mx_max * C);
        WS_DOUBLES(ws->logq, mx_max * C);
    }
#undef WS_REALS
#undef WS_DOUBLES
    if (ok) return ws;
oom:
    cvae_workspace_free(ws);
    lz_fail(err, LZ_ENOMEM, "CVAE: out of memory for a workspace of %zu rows", mx_max);
    return NULL;
}

void cvae_workspace_free(cvae_workspace *ws)
{
    if (!ws) return;
    free(ws->x);
    free(ws->cls);
    free(ws->pre);
    free(ws->dpre);
    for (size_t l = 0; l < VAE_MAX_LAYERS; l++) {
        free(ws->enc_h[l]);
        free(ws->enc_dh[l]);
        free(ws->dec_h[l]);
        free(ws->dec_dh[l]);
        free(ws->cls_h[l]);
        free(ws->cls_dh[l]);
    }
    free(ws->head);
    free(ws->dhead);
    free(ws->eps);
    free(ws->z);
    free(ws->dz);
    free(ws->out);
    free(ws->p);
    free(ws->dout);
    free(ws->nll);
    free(ws->sq);
    free(ws->lw);
    free(ws->kl);
    free(ws->rec);
    free(ws->w);
    free(ws->u);
    free(ws->logits);
    free(ws->dlogits);
    free(ws->q);
    free(ws->logq);
    free(ws);
}

/* ------------------------------------------------------------------ */
/* the conditional passes */

/* y (rows, n) += the class row rows[cls[r % E]] of rowsw (C, n) for every row r */
static void add_class_rows(vae_real *y, const vae_real *rowsw, const int *cls, size_t rows,
                           size_t E, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        vae_real *yr = y + r * n;
        const vae_real *b = rowsw + (size_t)cls[r % E] * n;
#pragma omp simd
        for (size_t j = 0; j < n; j++) yr[j] += b[j];
    }
}

/* drows (C, n) += the gradient dy (rows, n) of every row into its class's row */
static void class_rows_backward(vae_real *drows, const vae_real *dy, const int *cls, size_t rows,
                                size_t E, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        vae_real *g = drows + (size_t)cls[r % E] * n;
        const vae_real *dr = dy + r * n;
#pragma omp simd
        for (size_t j = 0; j < n; j++) g[j] += dr[j];
    }
}

void cvae_encode(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m, size_t E)
{
    const vae_arch *a = &mod->a.core;
    const vae_params *p = &mod->core->p;
    size_t n1 = cvae_enc_first(a), ne = a->n_enc;
    /* the first layer on [x | onehot(y)]: W_x x + b, once per datum ... */
    vae_dense_forward(ws->pre, x, ne ? p->enc_w[0] : p->head_w, ne ? p->enc_b[0] : p->head_b, m,
                      a->d, n1);
    /* ... + the class row of y, for every expanded row */
    vae_real *first = ne ? ws->enc_h[0] : ws->head;
    for (size_t e = 0; e < E; e++)
        memcpy(first + e * n1, ws->pre + (e % m) * n1, n1 * sizeof(vae_real));
    add_class_rows(first, mod->p.enc_y, ws->cls, E, E, n1);
    if (!ne) {
        vae_lv_bound(ws->head, E, a->k);
        return;
    }
    vae_act_forward(ws->enc_h[0], E * n1, a->act);
    for (size_t l = 1; l < ne; l++) {
        /* h_l = act(h_{l-1} W_l^T + b_l) */
        vae_dense_forward(ws->enc_h[l], ws->enc_h[l - 1], p->enc_w[l], p->enc_b[l], E,
                          a->enc[l - 1], a->enc[l]);
        vae_act_forward(ws->enc_h[l], E * a->enc[l], a->act);
    }
    /* [mu | log sigma^2] = h W_head^T + b_head */
    vae_dense_forward(ws->head, ws->enc_h[ne - 1], p->head_w, p->head_b, E, a->enc[ne - 1],
                      2 * a->k);
    vae_lv_bound(ws->head, E, a->k);
}

void cvae_decode(const cvae_model *mod, cvae_workspace *ws, const vae_real *z, size_t R, size_t E)
{
    const vae_arch *a = &mod->a.core;
    const vae_params *p = &mod->core->p;
    size_t nd = a->n_dec, n1 = cvae_dec_first(a);
    /* the first layer on [z | onehot(y)]: W_z z + b + the class row of y */
    vae_real *first = nd ? ws->dec_h[0] : ws->out;
    vae_dense_forward(first, z, nd ? p->dec_w[0] : p->out_w, nd ? p->dec_b[0] : p->out_b, R, a->k,
                      n1);
    add_class_rows(first, mod->p.dec_y, ws->cls, R, E, n1);
    if (!nd) return;
    vae_act_forward(ws->dec_h[0], R * n1, a->act);
    for (size_t l = 1; l < nd; l++) {
        vae_dense_forward(ws->dec_h[l], ws->dec_h[l - 1], p->dec_w[l], p->dec_b[l], R,
                          a->dec[l - 1], a->dec[l]);
        vae_act_forward(ws->dec_h[l], R * a->dec[l], a->act);
    }
    /* f(z, y) = h W_out^T + b_out */
    vae_dense_forward(ws->out, ws->dec_h[nd - 1], p->out_w, p->out_b, R, a->dec[nd - 1], a->d);
}

void cvae_cond_forward(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m,
                       size_t E, size_t L)
{
    const vae_arch *a = &mod->a.core;
    size_t k = a->k, d = a->d, R = L * E;
    cvae_encode(mod, ws, x, m, E);
    vae_kl_forward(ws->kl, ws->head, E, k);
    /* z_le = mu(x, y_e) + sigma(x, y_e) . eps_le at decoder row l E + e */
    vae_reparam_forward(ws->z, ws->head, ws->eps, E, L, k);
    cvae_decode(mod, ws, ws->z, R, E);
    /* decoder row r reads data row r % m (E is a multiple of m) */
    if (a->lik == VAE_BERNOULLI)
        vae_bernoulli_forward(ws->nll, ws->p, ws->out, x, m, R / m, d);
    else
        vae_gaussian_forward(ws->nll, ws->sq, ws->out, x, *mod->core->p.log_sigma2, m, R / m, d);
    for (size_t e = 0; e < E; e++) {
        double s = 0;
        for (size_t l = 0; l < L; l++) s += ws->nll[l * E + e];
        ws->rec[e] = s / (double)L;
    }
}

void cvae_cond_backward(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m, size_t E,
                        size_t L)
{
    const vae_arch *a = &mod->a.core;
    vae_params *p = &mod->core->p, *g = &mod->core->g;
    size_t k = a->k, d = a->d, R = L * E, nd = a->n_dec, ne = a->n_enc;
    size_t n1 = cvae_enc_first(a);
    /* the activation gradients accumulate: start them at zero */
    memset(ws->dout, 0, R * d * sizeof(vae_real));
    memset(ws->dz, 0, R * k * sizeof(vae_real));
    memset(ws->dhead, 0, E * 2 * k * sizeof(vae_real));
    memset(ws->dpre, 0, m * n1 * sizeof(vae_real));
    for (size_t l = 0; l < nd; l++) memset(ws->dec_dh[l], 0, R * a->dec[l] * sizeof(vae_real));
    for (size_t l = 0; l < ne; l++) memset(ws->enc_dh[l], 0, E * a->enc[l] * sizeof(vae_real));

    /* loss = sum_e w_e [(1/L) sum_l nll_le + KL_e]: decoder row r has weight w_(r%E) / L */
    for (size_t r = 0; r < R; r++) {
        vae_real wr = (vae_real)(ws->w[r % E] / (double)L);
        const vae_real *xr = x + (r % m) * d;
        if (a->lik == VAE_BERNOULLI)
            vae_bernoulli_backward(ws->dout + r * d, ws->p + r * d, xr, 1, 1, d, wr);
        else
            vae_gaussian_backward(ws->dout + r * d, a->learn_sigma2 ? g->log_sigma2 : NULL,
                                  ws->sq + r, ws->out + r * d, xr, *p->log_sigma2, 1, 1, d, wr);
    }

    /* decoder, output layer first; the class rows take the first layer's gradient */
    if (nd) {
        vae_dense_backward(ws->dec_dh[nd - 1], g->out_w, g->out_b, ws->dout, ws->dec_h[nd - 1],
                           p->out_w, R, a->dec[nd - 1], d);
        for (size_t l = nd; l-- > 0;) {
            vae_act_backward(ws->dec_dh[l], ws->dec_h[l], R * a->dec[l], a->act);
            const vae_real *in = l ? ws->dec_h[l - 1] : ws->z;
            vae_real *din = l ? ws->dec_dh[l - 1] : ws->dz;
            size_t c = l ? a->dec[l - 1] : k;
            if (!l) class_rows_backward(mod->g.dec_y, ws->dec_dh[0], ws->cls, R, E, a->dec[0]);
            vae_dense_backward(din, g->dec_w[l], g->dec_b[l], ws->dec_dh[l], in, p->dec_w[l], R, c,
                               a->dec[l]);
        }
    } else {
        class_rows_backward(mod->g.dec_y, ws->dout, ws->cls, R, E, d);
        vae_dense_backward(ws->dz, g->out_w, g->out_b, ws->dout, ws->z, p->out_w, R, k, d);
    }

    /* through z = mu + sigma . eps to the heads, plus each row's KL gradient */
    vae_reparam_backward(ws->dhead, ws->dz, ws->head, ws->eps, E, L, k);
    for (size_t e = 0; e < E; e++)
        vae_kl_backward(ws->dhead + e * 2 * k, ws->head + e * 2 * k, 1, k, (vae_real)ws->w[e]);

    /* encoder, heads first, down to the gradient of the first layer's
     * pre-activation of each expanded row */
    vae_lv_bound_backward(ws->dhead, ws->head, E, k);
    const vae_real *dfirst = ws->dhead;
    if (ne) {
        vae_dense_backward(ws->enc_dh[ne - 1], g->head_w, g->head_b, ws->dhead, ws->enc_h[ne - 1],
                           p->head_w, E, a->enc[ne - 1], 2 * k);
        for (size_t l = ne; l-- > 1;) {
            vae_act_backward(ws->enc_dh[l], ws->enc_h[l], E * a->enc[l], a->act);
            vae_dense_backward(ws->enc_dh[l - 1], g->enc_w[l], g->enc_b[l], ws->enc_dh[l],
                               ws->enc_h[l - 1], p->enc_w[l], E, a->enc[l - 1], a->enc[l]);
        }
        vae_act_backward(ws->enc_dh[0], ws->enc_h[0], E * n1, a->act);
        dfirst = ws->enc_dh[0];
    }
    /* pre-activation = W_x x_(e%m) + b + class row: the rows of one datum
     * add up on W_x x + b; the data need no gradient */
    class_rows_backward(mod->g.enc_y, dfirst, ws->cls, E, E, n1);
    for (size_t e = 0; e < E; e++) {
        vae_real *dp = ws->dpre + (e % m) * n1;
        const vae_real *df = dfirst + e * n1;
#pragma omp simd
        for (size_t j = 0; j < n1; j++) dp[j] += df[j];
    }
    vae_dense_backward(NULL, ne ? g->enc_w[0] : g->head_w, ne ? g->enc_b[0] : g->head_b, ws->dpre,
                       x, ne ? p->enc_w[0] : p->head_w, m, d, n1);
}

/* ------------------------------------------------------------------ */
/* the classifier q(y | x) */

void cvae_cls_forward(const cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m)
{
    const cvae_arch *a = &mod->a;
    size_t C = a->C, c = a->core.d;
    const vae_real *in = x;
    for (size_t l = 0; l < a->n_cls; l++) {
        vae_dense_forward(ws->cls_h[l], in, mod->p.cls_w[l], mod->p.cls_b[l], m, c, a->cls[l]);
        vae_act_forward(ws->cls_h[l], m * a->cls[l], a->core.act);
        in = ws->cls_h[l];
        c = a->cls[l];
    }
    vae_dense_forward(ws->logits, in, mod->p.cls_out_w, mod->p.cls_out_b, m, c, C);
    for (size_t i = 0; i < m; i++) {
        const vae_real *g = ws->logits + i * C;
        double *lq = ws->logq + i * C, *q = ws->q + i * C;
        /* log q_c = g_c - log sum_j exp(g_j) */
        double mx = g[0], s = 0;
        for (size_t j = 1; j < C; j++)
            if (g[j] > mx) mx = g[j];
        for (size_t j = 0; j < C; j++) s += exp((double)g[j] - mx);
        double lse = mx + log(s);
        for (size_t j = 0; j < C; j++) {
            lq[j] = (double)g[j] - lse;
            q[j] = exp(lq[j]);
        }
    }
}

void cvae_cls_backward(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m)
{
    const cvae_arch *a = &mod->a;
    size_t C = a->C, nc = a->n_cls;
    for (size_t l = 0; l < nc; l++) memset(ws->cls_dh[l], 0, m * a->cls[l] * sizeof(vae_real));
    const vae_real *in = nc ? ws->cls_h[nc - 1] : x;
    vae_real *din = nc ? ws->cls_dh[nc - 1] : NULL;
    size_t c = nc ? a->cls[nc - 1] : a->core.d;
    vae_dense_backward(din, mod->g.cls_out_w, mod->g.cls_out_b, ws->dlogits, in, mod->p.cls_out_w,
                       m, c, C);
    for (size_t l = nc; l-- > 0;) {
        vae_act_backward(ws->cls_dh[l], ws->cls_h[l], m * a->cls[l], a->core.act);
        in = l ? ws->cls_h[l - 1] : x;
        din = l ? ws->cls_dh[l - 1] : NULL;
        c = l ? a->cls[l - 1] : a->core.d;
        vae_dense_backward(din, mod->g.cls_w[l], mod->g.cls_b[l], ws->cls_dh[l], in,
                           mod->p.cls_w[l], m, c, a->cls[l]);
    }
}

/* ------------------------------------------------------------------ */
/* the losses of labelled and unlabelled rows */

double cvae_labelled_loss(cvae_model *mod, cvae_workspace *ws, const vae_real *x, const int *y,
                          size_t m, size_t L, double wl, double wce, int grad, double *ce)
{
    size_t C = mod->a.C;
    int has_cls = mod->a.mode == CVAE_MODE_M2;
    if (y != ws->cls) memcpy(ws->cls, y, m * sizeof *ws->cls);
    cvae_cond_forward(mod, ws, x, m, m, L);
    double sum = 0, sce = 0;
    for (size_t i = 0; i < m; i++) {
        /* L(x, y) = (1/L) sum_l -log p(x | z_l, y) + KL(Q(z | x, y) || N(0, I)) */
        ws->u[i] = ws->rec[i] + ws->kl[i];
        sum += ws->u[i];
    }
    if (has_cls) {
        cvae_cls_forward(mod, ws, x, m);
        /* -log q(y | x) */
        for (size_t i = 0; i < m; i++) sce -= ws->logq[i * C + (size_t)y[i]];
    }
    if (ce) *ce = sce;
    if (!grad) return sum;
    for (size_t i = 0; i < m; i++) ws->w[i] = wl;
    cvae_cond_backward(mod, ws, x, m, m, L);
    if (has_cls && wce != 0) {
        /* d(-log q_y)/d logit_j = q_j - [j = y] */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < C; j++)
                ws->dlogits[i * C + j] =
                    (vae_real)(wce * (ws->q[i * C + j] - (j == (size_t)y[i] ? 1.0 : 0.0)));
        cvae_cls_backward(mod, ws, x, m);
    }
    return sum;
}

double cvae_unlabelled_loss(cvae_model *mod, cvae_workspace *ws, const vae_real *x, size_t m,
                            size_t L, double wu, int grad, double *recon, double *kl)
{
    size_t C = mod->a.C, E = C * m;
    double logC = log((double)C);
    cvae_cls_forward(mod, ws, x, m);
    /* expanded row c m + i: datum i with class c */
    for (size_t e = 0; e < E; e++) ws->cls[e] = (int)(e / m);
    cvae_cond_forward(mod, ws, x, m, E, L);
    double sum = 0, srec = 0, skl = 0;
    for (size_t i = 0; i < m; i++) {
        const double *q = ws->q + i * C, *lq = ws->logq + i * C;
        /* U = sum_y q(y) [L(x, y) + log C + log q(y)]: the bound's terms
         * under q, minus the entropy H = -sum_y q log q */
        double u = 0, r = 0, kk = 0;
        for (size_t c = 0; c < C; c++) {
            size_t e = c * m + i;
            u += q[c] * (ws->rec[e] + ws->kl[e] + logC + lq[c]);
            r += q[c] * ws->rec[e];
            kk += q[c] * (ws->kl[e] + logC + lq[c]);
        }
        ws->u[i] = u;
        sum += u;
        srec += r;
        skl += kk;
    }
    if (recon) *recon = srec;
    if (kl) *kl = skl;
    if (!grad) return sum;
    /* the network's gradient: each class's bound weighted by q(y | x) */
    for (size_t e = 0; e < E; e++) ws->w[e] = wu * ws->q[(e % m) * C + e / m];
    cvae_cond_backward(mod, ws, x, m, E, L);
    /* the classifier's: dU/dlogit_j = q_j (a_j - U), a_j = L(x, j) + log C + log q_j */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < C; j++) {
            size_t e = j * m + i;
            double aj = ws->rec[e] + ws->kl[e] + logC + ws->logq[i * C + j];
            ws->dlogits[i * C + j] = (vae_real)(wu * ws->q[i * C + j] * (aj - ws->u[i]));
        }
    cvae_cls_backward(mod, ws, x, m);
    return sum;
}

void cvae_zero_grad(cvae_model *mod)
{
    vae_zero_grad(mod->core);
    memset(mod->gblock, 0, mod->n_block * sizeof(vae_real));
}

void cvae_adam_step(cvae_model *mod, double lr, double beta1, double beta2, double eps)
{
    vae_adam_step(mod->core, lr, beta1, beta2, eps);
    mod->adam_t++;
    vae_adam_update(mod->block, mod->adam_m, mod->adam_v, mod->gblock, mod->n_block, mod->adam_t,
                    lr, beta1, beta2, eps);
}

/* ------------------------------------------------------------------ */
/* training */

/* ws->x (m, d) <- rows idx of x, binarised anew under dynamic binarisation */
static void gather(const cvae_model *mod, cvae_workspace *ws, gsl_rng *r_bin, const vae_real *x,
                   const size_t *idx, size_t m)
{
    size_t d = mod->a.core.d;
    VAE_GATHER(d, x, idx, m, ws->x);
    if (mod->core->binarize == VAE_BIN_DYNAMIC)
        /* x ~ Bernoulli(grey level), a new draw every time */
        for (size_t j = 0; j < m * d; j++) ws->x[j] = gsl_rng_uniform(r_bin) < ws->x[j] ? 1 : 0;
}

/* the test bound and accuracy after an epoch, one z per row (and class) of
 * rng; loss in model space */
static void test_pass(cvae_model *mod, cvae_workspace *ws, const vae_real *xte, const int *yte,
                      size_t nt, gsl_rng *rng, cvae_epoch_info *info, size_t *n_lab)
{
    size_t d = mod->a.core.d, k = mod->a.core.k, C = mod->a.C;
    int m2 = mod->a.mode == CVAE_MODE_M2;
    double sl = 0, sr = 0, sk = 0;
    size_t n_ok = 0, n_y = 0, n_scored = 0;
    for (size_t i0 = 0; i0 < nt; i0 += ws->mx_max) {
        size_t m = nt - i0 < ws->mx_max ? nt - i0 : ws->mx_max;
        const vae_real *x = xte + i0 * d;
        if (m2) {
            double r, q;
            VAE_GAUSS(rng, C * m * k, ws->eps);
            sl += cvae_unlabelled_loss(mod, ws, x, m, 1, 1, 0, &r, &q);
            sr += r;
            sk += q;
            n_scored += m;
            for (size_t i = 0; yte && i < m; i++) {
                if (yte[i0 + i] < 0) continue;
                const double *qi = ws->q + i * C;
                size_t best = 0;
                for (size_t c = 1; c < C; c++)
                    if (qi[c] > qi[best]) best = c;
                n_y++;
                n_ok += best == (size_t)yte[i0 + i];
            }
        } else if (yte) {
            /* the CVAE's bound needs the label: rows without one are skipped */
            size_t mm = 0;
            for (size_t i = 0; i < m; i++)
                if (yte[i0 + i] >= 0) {
                    memcpy(ws->x + mm * d, x + i * d, d * sizeof(vae_real));
                    ws->cls[mm++] = yte[i0 + i];
                }
            VAE_GAUSS(rng, m * k, ws->eps); /* the same draws whatever is skipped */
            if (!mm) continue;
            sl += cvae_labelled_loss(mod, ws, ws->x, ws->cls, mm, 1, 1, 0, 0, NULL);
            for (size_t i = 0; i < mm; i++) {
                sr += ws->rec[i];
                sk += ws->kl[i];
            }
            n_scored += mm;
        }
    }
    double off = vae_ll_offset(mod->core);
    if (n_scored) {
        info->loss_test = sl / (double)n_scored - off;
        info->recon_test = sr / (double)n_scored - off;
        info->kl_test = sk / (double)n_scored;
    }
    if (n_y) info->acc_test = (double)n_ok / (double)n_y;
    *n_lab = n_y;
}

lz_status cvae_fit(cvae_model *mod, const cvae_config *c, const vae_real *xtrain, const int *ytr,
                   size_t n, const vae_real *xtest, const int *yte, size_t nt,
                   cvae_epoch_fn on_epoch, cvae_batch_fn on_batch, void *ctx, lz_error *err)
{
    const vae_config *vc = &c->vae;
    size_t k = mod->a.core.k, C = mod->a.C, L = (size_t)vc->samples;
    int m2 = mod->a.mode == CVAE_MODE_M2;
    if (mod->a.mode == CVAE_MODE_M1)
        return lz_fail(err, LZ_EINVAL, "cvae_fit trains the CVAE and M2 (M1: vae_fit)");
    /* the rows with and without labels */
    size_t n_l = 0, n_u = 0;
    for (size_t i = 0; i < n; i++) ytr[i] >= 0 ? n_l++ : n_u++;
    if (!m2 && n_u) return lz_fail(err, LZ_EINVAL, "CVAE: %zu training rows without a label", n_u);
    if (!n_l) return lz_fail(err, LZ_EINVAL, "no labelled training rows");
    size_t mb = vc->batch;
    size_t mu = m2 && n_u ? (mb < n_u ? mb : n_u) : 0; /* unlabelled rows a step */
    size_t ml = mb < n_l ? mb : n_l;                   /* labelled rows a step */
    size_t mx = mu > ml ? mu : ml;
    if ((m2 ? C : 1) * L * mx > 10000000)
        return lz_fail(err, LZ_EINVAL,
                       "--samples %zu x --batch %zu x %zu classes: at most 10^7 decoder rows a "
                       "step",
                       L, mb, m2 ? C : 1);
    size_t n_steps = mu ? (n_u + mu - 1) / mu : (n_l + ml - 1) / ml;
    double alpha = cvae_alpha(c, n), logC = log((double)C), off = vae_ll_offset(mod->core);
    lz_status st = LZ_OK;
    cvae_workspace *ws = cvae_workspace_alloc(mod, mx, L, m2, err);
    size_t *lab = malloc(n_l * sizeof *lab), *unl = malloc((n_u ? n_u : 1) * sizeof *unl);
    size_t *idx = malloc(mx * sizeof *idx), *perm_l = malloc(n_l * sizeof *perm_l);
    size_t *perm_u = malloc((n_u ? n_u : 1) * sizeof *perm_u);
    int *yb = malloc(mx * sizeof *yb);
    gsl_rng *r_train = lz_rng_alloc_stream(vc->seed, CVAE_STREAM_TRAIN);
    gsl_rng *r_bin = lz_rng_alloc_stream(vc->seed, CVAE_STREAM_BIN_TRAIN);
    gsl_rng *r_lab = lz_rng_alloc_stream(vc->seed, CVAE_STREAM_LABELLED);
    gsl_rng *r_test0 = lz_rng_alloc_stream(vc->seed, CVAE_STREAM_TEST_LOSS);
    gsl_rng *r_test = gsl_rng_alloc(gsl_rng_mt19937);
    if (!ws || !lab || !unl || !idx || !perm_l || !perm_u || !yb || !r_train || !r_bin || !r_lab ||
        !r_test0 || !r_test) {
        st = ws ? lz_fail(err, LZ_ENOMEM, "CVAE training: out of memory") : err->status;
        goto done;
    }
    n_l = n_u = 0;
    for (size_t i = 0; i < n; i++) {
        if (ytr[i] >= 0)
            lab[n_l++] = i;
        else
            unl[n_u++] = i;
    }
    size_t pos_l = n_l; /* M2: the next labelled row of perm_l (n_l: draw a new order) */
    double t0 = lz_now(), t_train = 0;
    for (int ep = 1; ep <= vc->epochs; ep++) {
        double te = lz_now();
        double s_u = 0, r_u = 0, k_u = 0, s_l = 0, r_l = 0, k_l = 0, s_ce = 0;
        size_t cnt_u = 0, cnt_l = 0;
        if (mu)
            lz_rng_perm(r_train, n_u, perm_u);
        else if (!m2)
            lz_rng_perm(r_train, n_l, perm_l);
        for (size_t b = 0; b < n_steps; b++) {
            cvae_zero_grad(mod);
            double loss = 0, ce = 0;
            size_t m = 0;
            double s = 1; /* the step's loss is s times its estimate of J^alpha */
            if (mu) {
                /* unlabelled minibatch b: sum over its rows of U(x) */
                size_t i0 = b * mu;
                m = n_u - i0 < mu ? n_u - i0 : mu;
                for (size_t i = 0; i < m; i++) idx[i] = unl[perm_u[i0 + i]];
                gather(mod, ws, r_bin, xtrain, idx, m);
                VAE_GAUSS(r_train, L * C * m * k, ws->eps);
                double rr, kk;
                loss = cvae_unlabelled_loss(mod, ws, ws->x, m, L, 1, 1, &rr, &kk);
                s_u += loss;
                r_u += rr;
                k_u += kk;
                cnt_u += m;
                s = (double)m / (double)n_u;
            }
            /* labelled minibatch: CVAE, the epoch's order; M2, the next
             * rows of a cycling order */
            size_t mlb;
            if (!m2) {
                size_t i0 = b * ml;
                mlb = n_l - i0 < ml ? n_l - i0 : ml;
                for (size_t i = 0; i < mlb; i++) idx[i] = lab[perm_l[i0 + i]];
            } else {
                mlb = ml;
                if (pos_l + mlb > n_l) {
                    lz_rng_perm(r_lab, n_l, perm_l);
                    pos_l = 0;
                }
                for (size_t i = 0; i < mlb; i++) idx[i] = lab[perm_l[pos_l + i]];
                pos_l += mlb;
                if (!mu) s = (double)mlb / (double)n_l;
            }
            for (size_t i = 0; i < mlb; i++) yb[i] = ytr[idx[i]];
            gather(mod, ws, r_bin, xtrain, idx, mlb);
            VAE_GAUSS(r_train, L * mlb * k, ws->eps);
            /* J^alpha = sum_u U + sum_l [L + log C + alpha (-log q(y | x))],
             * estimated by (n_u / m_u) sum_Bu U + (n_l / m_l) sum_Bl [L + log C +
             * alpha CE], times s (CVAE: sum_Bl L) */
            double wl = m2 ? s * (double)n_l / (double)mlb : 1;
            double wce = m2 ? wl * alpha : 0;
            double ll = cvae_labelled_loss(mod, ws, ws->x, yb, mlb, L, wl, wce, 1, &ce);
            for (size_t i = 0; i < mlb; i++) {
                r_l += ws->rec[i];
                k_l += ws->kl[i];
            }
            s_l += ll;
            s_ce += ce;
            cnt_l += mlb;
            loss += wl * ll + wce * ce;
            if (!isfinite(loss)) {
                st = lz_fail(err, LZ_ENUMERIC,
                             "epoch %d, minibatch %zu: the loss is not finite (try a smaller "
                             "--lr%s%s)",
                             ep, b + 1, m2 ? " or --alpha" : "", vae_sigma2_hint(mod->core));
                goto done;
            }
            cvae_adam_step(mod, vc->lr, vc->beta1, vc->beta2, vc->adam_eps);
            if (on_batch) on_batch(ep, b + 1, n_steps, ctx);
        }
        double step_time = lz_now() - te;
        t_train += step_time;
        cvae_epoch_info info = {.epoch = ep};
        info.loss_test = info.recon_test = info.kl_test = info.acc_test = NAN;
        info.loss_labelled = info.ce_train = info.objective = NAN;
        if (m2) {
            double mean_l = s_l / (double)cnt_l + logC - off, mean_ce = s_ce / (double)cnt_l;
            info.loss_labelled = mean_l;
            info.ce_train = mean_ce;
            if (cnt_u) {
                info.loss_train = s_u / (double)cnt_u - off;
                info.recon_train = r_u / (double)cnt_u - off;
                info.kl_train = k_u / (double)cnt_u;
            } else {
                info.loss_train = info.recon_train = info.kl_train = NAN;
            }
            /* J^alpha / n, data units */
            info.objective = ((double)n_u * (cnt_u ? info.loss_train : 0) +
                              (double)n_l * (mean_l + alpha * mean_ce)) /
                             (double)n;
        } else {
            info.loss_train = s_l / (double)cnt_l - off;
            info.recon_train = r_l / (double)cnt_l - off;
            info.kl_train = k_l / (double)cnt_l;
        }
        if (xtest && nt) {
            size_t n_y = 0;
            /* the same noise every epoch: the curve shows the model's change */
            gsl_rng_memcpy(r_test, r_test0);
            test_pass(mod, ws, xtest, yte, nt, r_test, &info, &n_y);
        }
        if ((st = vae_check_params(mod->core, ep, m2 ? " or --alpha" : "", err))) goto done;
        info.sigma2 = vae_sigma2(mod->core);
        info.seconds = lz_now() - t0;
        info.train_seconds = t_train;
        info.samples_per_sec = step_time > 0 ? (double)(cnt_u + cnt_l) / step_time : NAN;
        if (on_epoch && on_epoch(&info, ctx)) {
            st = lz_fail(err, LZ_ESTOP, "training stopped at epoch %d", ep);
            goto done;
        }
    }
done:
    cvae_workspace_free(ws);
    free(lab);
    free(unl);
    free(idx);
    free(perm_l);
    free(perm_u);
    free(yb);
    gsl_rng_free(r_train);
    gsl_rng_free(r_bin);
    gsl_rng_free(r_lab);
    gsl_rng_free(r_test0);
    gsl_rng_free(r_test);
    return st;
}
