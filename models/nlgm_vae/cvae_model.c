/* cvae_model.c -- the VAE with labels: configuration, classes and the rows
 * that keep their labels, the parameter blocks, initialisation and model
 * files (see cvae.h; docs/vae_labels.md, "Implementation").
 *
 * The model is the VAE's (a vae_model from vae_model.c: encoder, decoder,
 * data map) and one more block, laid out by tensors(), for the class rows
 * and M2's classifier; the regressions of M1 and of the baseline, and the
 * classes, are doubles in a third block.  This file calls the VAE's library
 * (vae.h) and no other file of this one.
 */
#include "cvae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "lz_model.h"
#include "lz_prob.h"
#include "vae_impl.h"

/* model files: kind and version */
#define CVAE_MODEL_KIND "cvae"
/* 2: a scale per column and the standardisation (1: one overall scale) */
#define CVAE_MODEL_VERSION 2

static const char *const mode_names[] = {"cvae", "m2", "m1"};
static const char *const lik_names[] = {"bernoulli", "gaussian"};
static const char *const dec_names[] = {"mlp", "linear"};
static const char *const act_names[] = {"relu", "tanh"};
static const char *const bin_names[] = {"none", "threshold", "dynamic"};

/* ------------------------------------------------------------------ */
/* configuration */

void cvae_config_default(cvae_config *c)
{
    memset(c, 0, sizeof *c);
    vae_config_default(&c->vae);
    c->mode = CVAE_MODE_CVAE;
    c->n_cls = c->vae.arch.n_enc;
    memcpy(c->cls, c->vae.arch.enc, sizeof c->cls);
    c->vae.n_samples = 10; /* per class */
    c->n_labels = 100;
    c->alpha = NAN;
    c->l2 = 1;
}

lz_status cvae_config_check(const cvae_config *c, lz_error *err)
{
    lz_status st = vae_config_check(&c->vae, err);
    if (st) return st;
    if (c->mode != CVAE_MODE_CVAE && c->mode != CVAE_MODE_M2 && c->mode != CVAE_MODE_M1)
        return lz_fail(err, LZ_EINVAL, "mode %d: expected CVAE, M2 or M1", (int)c->mode);
    if (c->n_cls > VAE_MAX_LAYERS)
        return lz_fail(err, LZ_EINVAL, "--cls-hidden: at most %d hidden layers", VAE_MAX_LAYERS);
    for (size_t l = 0; l < c->n_cls; l++)
        if (c->cls[l] < 1 || c->cls[l] > 1000000)
            return lz_fail(err, LZ_EINVAL, "--cls-hidden: width %zu: expected 1 .. 1000000",
                           c->cls[l]);
    if (c->n_labels < 1 || c->n_labels > 1000000000L)
        return lz_fail(err, LZ_EINVAL, "--n-labels %ld: expected 1 .. 10^9", c->n_labels);
    if (!isnan(c->alpha) && (!(c->alpha > 0) || !isfinite(c->alpha)))
        return lz_fail(err, LZ_EINVAL, "--alpha %.15g: expected a weight > 0", c->alpha);
    if (!(c->l2 > 0) || !isfinite(c->l2))
        return lz_fail(err, LZ_EINVAL,
                       "--l2 %.15g: expected a penalty > 0 (a few labelled rows are separable: "
                       "without one the weights grow without end)",
                       c->l2);
    return LZ_OK;
}

double cvae_alpha(const cvae_config *c, size_t n)
{
    /* Kingma et al. (2014): alpha = 0.1 N, N the training rows */
    return isnan(c->alpha) ? 0.1 * (double)n : c->alpha;
}

/* ------------------------------------------------------------------ */
/* parameter blocks */

size_t cvae_enc_first(const vae_arch *a) { return a->n_enc ? a->enc[0] : 2 * a->k; }
size_t cvae_dec_first(const vae_arch *a) { return a->n_dec ? a->dec[0] : a->d; }

/* the tensors beyond the VAE in block order; *total <- reals in the block */
static size_t tensors(const cvae_arch *a, vae_tensor *t, size_t *total)
{
    size_t n = 0, off = 0;
    if (a->mode != CVAE_MODE_M1) {
        vae_add_tensor(t, &n, &off, "enc_y", a->C, cvae_enc_first(&a->core));
        vae_add_tensor(t, &n, &off, "dec_y", a->C, cvae_dec_first(&a->core));
    }
    if (a->mode == CVAE_MODE_M2) {
        char nm[32];
        size_t c = a->core.d;
        for (size_t l = 0; l < a->n_cls; l++) {
            snprintf(nm, sizeof nm, "cls_w%zu", l + 1);
            vae_add_tensor(t, &n, &off, nm, a->cls[l], c);
            snprintf(nm, sizeof nm, "cls_b%zu", l + 1);
            vae_add_tensor(t, &n, &off, nm, 1, a->cls[l]);
            c = a->cls[l];
        }
        vae_add_tensor(t, &n, &off, "cls_out_w", a->C, c);
        vae_add_tensor(t, &n, &off, "cls_out_b", 1, a->C);
    }
    if (total) *total = off;
    return n;
}

size_t cvae_tensors(const cvae_arch *a, vae_tensor *t) { return tensors(a, t, NULL); }

static void set_views(const cvae_arch *a, const vae_tensor *t, vae_real *block, cvae_params *p)
{
    memset(p, 0, sizeof *p);
    size_t i = 0;
    if (a->mode != CVAE_MODE_M1) {
        p->enc_y = block + t[i++].offset;
        p->dec_y = block + t[i++].offset;
    }
    if (a->mode == CVAE_MODE_M2) {
        for (size_t l = 0; l < a->n_cls; l++) {
            p->cls_w[l] = block + t[i++].offset;
            p->cls_b[l] = block + t[i++].offset;
        }
        p->cls_out_w = block + t[i++].offset;
        p->cls_out_b = block + t[i++].offset;
    }
}

cvae_model *cvae_model_alloc(const cvae_arch *a, lz_error *err)
{
    if (a->C < 2 || a->C > CVAE_MAX_CLASSES) {
        lz_fail(err, LZ_EINVAL, "%zu classes: expected 2 .. %d", a->C, CVAE_MAX_CLASSES);
        return NULL;
    }
    cvae_model *mod = calloc(1, sizeof *mod);
    if (!mod) {
        lz_fail(err, LZ_ENOMEM, "CVAE: out of memory");
        return NULL;
    }
    mod->a = *a;
    if (a->mode != CVAE_MODE_M2) mod->a.n_cls = 0;
    if (!(mod->core = vae_model_alloc(&a->core, err))) {
        free(mod);
        return NULL;
    }
    mod->n_tensors = tensors(&mod->a, mod->t, &mod->n_block);
    mod->block = vae_alloc_reals(mod->n_block);
    mod->gblock = vae_alloc_reals(mod->n_block);
    mod->adam_m = vae_alloc_reals(mod->n_block);
    mod->adam_v = vae_alloc_reals(mod->n_block);
    /* raw_w (C, d), raw_b (C), m1_w (C, k), m1_b (C), class_value (C) */
    size_t C = a->C, d = a->core.d, k = a->core.k;
    mod->dblock = calloc(C * d + C + C * k + C + C, sizeof *mod->dblock);
    if (!mod->block || !mod->gblock || !mod->adam_m || !mod->adam_v || !mod->dblock) {
        cvae_model_free(mod);
        lz_fail(err, LZ_ENOMEM, "CVAE: out of memory");
        return NULL;
    }
    set_views(&mod->a, mod->t, mod->block, &mod->p);
    set_views(&mod->a, mod->t, mod->gblock, &mod->g);
    mod->raw_w = mod->dblock;
    mod->raw_b = mod->raw_w + C * d;
    mod->m1_w = mod->raw_b + C;
    mod->m1_b = mod->m1_w + C * k;
    mod->class_value = mod->m1_b + C;
    for (size_t c = 0; c < C; c++) mod->class_value[c] = (double)c;
    return mod;
}

static void free_names(char **names, size_t C)
{
    if (!names) return;
    for (size_t c = 0; c < C; c++) free(names[c]);
    free(names);
}

void cvae_model_free(cvae_model *mod)
{
    if (!mod) return;
    vae_model_free(mod->core);
    free(mod->block);
    free(mod->gblock);
    free(mod->adam_m);
    free(mod->adam_v);
    free(mod->dblock);
    free_names(mod->class_name, mod->a.C);
    free(mod);
}

size_t cvae_n_params(const cvae_model *mod)
{
    size_t n = vae_n_params(mod->core);
    for (size_t i = 0; i < mod->n_tensors; i++) n += mod->t[i].rows * mod->t[i].cols;
    if (mod->a.mode == CVAE_MODE_M1) n += mod->a.C * (mod->a.core.k + 1);
    return n;
}

const char *cvae_model_name(const cvae_model *mod)
{
    static const char *const names[3][2][2] = {
        {{"cvae-mlp-bernoulli", "cvae-mlp-gaussian"},
         {"cvae-linear-bernoulli", "cvae-linear-gaussian"}},
        {{"m2-mlp-bernoulli", "m2-mlp-gaussian"}, {"m2-linear-bernoulli", "m2-linear-gaussian"}},
        {{"m1-mlp-bernoulli", "m1-mlp-gaussian"}, {"m1-linear-bernoulli", "m1-linear-gaussian"}}};
    return names[mod->a.mode][mod->a.core.decoder][mod->a.core.lik];
}

/* ------------------------------------------------------------------ */
/* classes and labels */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static lz_status no_labels(const lz_data *data, lz_error *err)
{
    return lz_fail(err, LZ_EINVAL,
                   "%s: no labels: the conditional VAE, M1 and M2 need the class of each "
                   "row (--label-col N|last for text data; IDX images: the "
                   "...-labels-idx1-ubyte file beside them)",
                   data->path);
}

/* vals (n) <- the distinct training classes, sorted (numbers: the values;
 * words: the codes present); *C <- how many */
static lz_status distinct(const lz_data *train, double *vals, size_t *C, lz_error *err)
{
    size_t n = train->n;
    memcpy(vals, train->y, n * sizeof *vals);
    qsort(vals, n, sizeof *vals, cmp_double);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || vals[i] != vals[c - 1]) vals[c++] = vals[i];
    *C = c;
    if (c < 2)
        return lz_fail(err, LZ_EINVAL, "%s: the labels hold one class: expected at least 2",
                       train->path);
    if (c > CVAE_MAX_CLASSES)
        return lz_fail(err, LZ_EINVAL,
                       "%s: the labels hold %zu distinct values: expected at most %d classes "
                       "(is the label column a class?)",
                       train->path, c, CVAE_MAX_CLASSES);
    return LZ_OK;
}

lz_status cvae_count_classes(const lz_data *train, size_t *C, lz_error *err)
{
    *C = 0;
    if (!train->y) return no_labels(train, err);
    double *vals = malloc((train->n ? train->n : 1) * sizeof *vals);
    if (!vals) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", train->path);
    lz_status st = distinct(train, vals, C, err);
    free(vals);
    return st;
}

/* a class name as the model file keeps it: one word, blanks as '_' */
static void name_word(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) out[i] = s[i] == ' ' || s[i] == '\t' ? '_' : s[i];
    out[i] = 0;
}

static int same_name(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a == ' ' || *a == '\t' ? '_' : *a, y = *b == ' ' || *b == '\t' ? '_' : *b;
        if (x != y) return 0;
        if (!x) return 1;
    }
}

lz_status cvae_set_classes(cvae_model *mod, const lz_data *train, lz_error *err)
{
    if (!train->y) return no_labels(train, err);
    size_t C = 0;
    double *vals = malloc((train->n ? train->n : 1) * sizeof *vals);
    if (!vals) return lz_fail(err, LZ_ENOMEM, "%s: out of memory", train->path);
    lz_status st = distinct(train, vals, &C, err);
    if (!st && C != mod->a.C)
        st = lz_fail(err, LZ_EINVAL, "%s: %zu classes: expected %zu as the model", train->path, C,
                     mod->a.C);
    char **names = NULL;
    if (!st && train->label_names) {
        /* words: the model's classes are the codes present, in code order */
        if (!(names = calloc(C, sizeof *names))) st = lz_fail(err, LZ_ENOMEM, "out of memory");
        for (size_t c = 0; !st && c < C; c++) {
            size_t code = (size_t)vals[c];
            const char *s = code < train->n_classes ? train->label_names[code] : "?";
            if (!(names[c] = strdup(s))) st = lz_fail(err, LZ_ENOMEM, "out of memory");
        }
    }
    if (!st) {
        free_names(mod->class_name, mod->a.C);
        mod->class_name = names;
        names = NULL;
        for (size_t c = 0; c < C; c++)
            mod->class_value[c] = names || mod->class_name ? (double)c : vals[c];
    }
    free_names(names, C);
    free(vals);
    return st;
}

lz_status cvae_label_codes(const cvae_model *mod, const lz_data *data, int *codes, lz_error *err)
{
    if (!data->y) return no_labels(data, err);
    size_t C = mod->a.C;
    char where[256];
    int words = data->label_names != NULL, named = mod->class_name != NULL;
    if (words != named && data->n) {
        lz_data_row_where(data, 0, where, sizeof where);
        return lz_fail(err, LZ_EINVAL, "%s: the labels are %s but the model's classes are %s",
                       where, words ? "words" : "numbers", named ? "words" : "numbers");
    }
    for (size_t i = 0; i < data->n; i++) {
        int code = -1;
        if (named) {
            size_t yc = (size_t)data->y[i];
            const char *s = yc < data->n_classes ? data->label_names[yc] : "";
            for (size_t c = 0; c < C && code < 0; c++)
                if (same_name(s, mod->class_name[c])) code = (int)c;
        } else {
            const double *hit =
                bsearch(&data->y[i], mod->class_value, C, sizeof(double), cmp_double);
            if (hit) code = (int)(hit - mod->class_value);
        }
        if (code < 0) {
            char lab[128];
            if (named) {
                size_t yc = (size_t)data->y[i];
                snprintf(lab, sizeof lab, "'%s'",
                         yc < data->n_classes ? data->label_names[yc] : "?");
            } else
                lz_num_str(data->y[i], lab, sizeof lab);
            lz_data_row_where(data, i, where, sizeof where);
            return lz_fail(err, LZ_EINVAL,
                           "%s: label %s: not one of the %zu classes of the training data", where,
                           lab, C);
        }
        codes[i] = code;
    }
    return LZ_OK;
}

lz_status cvae_choose_labels(const int *codes, size_t n, size_t C, size_t n_labels,
                             unsigned long seed, unsigned char *keep, lz_error *err)
{
    if (n_labels > n)
        return lz_fail(err, LZ_EINVAL, "--n-labels %zu: expected at most the %zu training rows",
                       n_labels, n);
    if (n_labels < C)
        return lz_fail(err, LZ_EINVAL,
                       "--n-labels %zu: expected at least one label per class (%zu classes)",
                       n_labels, C);
    size_t *perm = malloc(n * sizeof *perm), *order = malloc(C * sizeof *order);
    size_t *avail = calloc(C, sizeof *avail), *quota = calloc(C, sizeof *quota);
    gsl_rng *r = lz_rng_alloc_stream(seed, CVAE_STREAM_LABELS);
    lz_status st = LZ_OK;
    if (!perm || !order || !avail || !quota || !r) {
        st = lz_fail(err, LZ_ENOMEM, "choosing the labelled rows: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) avail[codes[i]]++;
    /* the rows in a random order, the classes in a random order */
    lz_rng_perm(r, n, perm);
    lz_rng_perm(r, C, order);
    /* n_labels / C each, one more for the first n_labels mod C classes */
    for (size_t j = 0; j < C; j++) quota[order[j]] = n_labels / C + (j < n_labels % C);
    /* a class short of rows gives the rest of its share to the others, one
     * at a time to the class with the fewest that has rows left (the first
     * in the same order of equals; n_labels <= n: it ends) */
    size_t spare = 0;
    for (size_t c = 0; c < C; c++)
        if (quota[c] > avail[c]) {
            spare += quota[c] - avail[c];
            quota[c] = avail[c];
        }
    for (; spare; spare--) {
        size_t best = C;
        for (size_t j = 0; j < C; j++) {
            size_t c = order[j];
            if (quota[c] < avail[c] && (best == C || quota[c] < quota[best])) best = c;
        }
        quota[best]++;
    }
    memset(keep, 0, n);
    for (size_t t = 0; t < n; t++) {
        size_t i = perm[t];
        if (quota[codes[i]]) {
            keep[i] = 1;
            quota[codes[i]]--;
        }
    }
done:
    free(perm);
    free(order);
    free(avail);
    free(quota);
    gsl_rng_free(r);
    return st;
}

/* ------------------------------------------------------------------ */
/* initialisation (docs/vae_labels.md, "Implementation") */

/* W (n, c), b (n) ~ U(-bound, bound) */
static void init_dense(gsl_rng *r, vae_real *w, vae_real *b, size_t n, size_t c, double bound)
{
    for (size_t i = 0; i < n * c; i++) w[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
    if (b)
        for (size_t i = 0; i < n; i++) b[i] = (vae_real)(bound * (2 * gsl_rng_uniform(r) - 1));
}

/* a layer drawn by vae_init with c inputs becomes one of c + C inputs:
 * U(-1/sqrt(c), 1/sqrt(c)) times sqrt(c / (c + C)) is U(-1/sqrt(c + C), ...) */
static void widen(vae_real *w, vae_real *b, size_t n, size_t c, size_t C)
{
    vae_real s = (vae_real)sqrt((double)c / (double)(c + C));
    for (size_t i = 0; i < n * c; i++) w[i] *= s;
    for (size_t i = 0; i < n; i++) b[i] *= s;
}

lz_status cvae_init(cvae_model *mod, unsigned long seed, double sigma2, lz_error *err)
{
    const cvae_arch *a = &mod->a;
    const vae_arch *v = &a->core;
    lz_status st = vae_init(mod->core, seed, sigma2, err);
    if (st) return st;
    gsl_rng *r = lz_rng_alloc_stream(seed, CVAE_STREAM_INIT_LABEL);
    if (!r) return lz_fail(err, LZ_ENOMEM, "CVAE initialisation: out of memory");
    memset(mod->block, 0, mod->n_block * sizeof(vae_real));
    size_t C = a->C, d = v->d, k = v->k;
    vae_params *cp = &mod->core->p;
    if (a->mode != CVAE_MODE_M1) {
        /* the first layers read [x | onehot(y)] and [z | onehot(y)] */
        size_t ne = cvae_enc_first(v), nd = cvae_dec_first(v);
        widen(v->n_enc ? cp->enc_w[0] : cp->head_w, v->n_enc ? cp->enc_b[0] : cp->head_b, ne, d, C);
        widen(v->n_dec ? cp->dec_w[0] : cp->out_w, v->n_dec ? cp->dec_b[0] : cp->out_b, nd, k, C);
        /* class row c is column c of the layer's weights on the one-hot inputs */
        init_dense(r, mod->p.enc_y, NULL, C, ne, 1 / sqrt((double)(d + C)));
        init_dense(r, mod->p.dec_y, NULL, C, nd, 1 / sqrt((double)(k + C)));
    }
    if (a->mode == CVAE_MODE_M2) {
        size_t c = d;
        for (size_t l = 0; l < a->n_cls; l++) {
            init_dense(r, mod->p.cls_w[l], mod->p.cls_b[l], a->cls[l], c, 1 / sqrt((double)c));
            c = a->cls[l];
        }
        init_dense(r, mod->p.cls_out_w, mod->p.cls_out_b, C, c, 1 / sqrt((double)c));
    }
    gsl_rng_free(r);
    memset(mod->gblock, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_m, 0, mod->n_block * sizeof(vae_real));
    memset(mod->adam_v, 0, mod->n_block * sizeof(vae_real));
    mod->adam_t = 0;
    memset(mod->raw_w, 0, (C * d + C + C * k + C) * sizeof(double));
    return LZ_OK;
}

/* ------------------------------------------------------------------ */
/* model files */

static int has_raw(const cvae_arch *a) { return a->mode != CVAE_MODE_CVAE; }

lz_status cvae_model_write(const cvae_model *mod, lz_outset *os, const char *path, lz_error *err)
{
    FILE *f = lz_outset_open(os, path, err);
    if (!f) return err->status;
    const cvae_arch *a = &mod->a;
    const vae_arch *v = &a->core;
    const vae_model *core = mod->core;
    size_t C = a->C;
    char nm[48];
    lz_model_begin(f, CVAE_MODEL_KIND, CVAE_MODEL_VERSION);
    lz_model_put_str(f, "mode", mode_names[a->mode]);
    lz_model_put_str(f, "likelihood", lik_names[v->lik]);
    lz_model_put_str(f, "decoder", dec_names[v->decoder]);
    lz_model_put_str(f, "act", act_names[v->act]);
    lz_model_put_str(f, "binarize", bin_names[core->binarize]);
    lz_model_put_int(f, "d", (long)v->d);
    lz_model_put_int(f, "k", (long)v->k);
    lz_model_put_int(f, "learn_sigma2", v->learn_sigma2);
    lz_model_put_int(f, "n_enc", (long)v->n_enc);
    lz_model_put_int(f, "n_dec", (long)v->n_dec);
    for (size_t l = 0; l < v->n_enc; l++) {
        snprintf(nm, sizeof nm, "enc_h%zu", l + 1);
        lz_model_put_int(f, nm, (long)v->enc[l]);
    }
    for (size_t l = 0; l < v->n_dec; l++) {
        snprintf(nm, sizeof nm, "dec_h%zu", l + 1);
        lz_model_put_int(f, nm, (long)v->dec[l]);
    }
    lz_model_put_int(f, "classes", (long)C);
    lz_model_put_int(f, "n_cls", (long)a->n_cls);
    for (size_t l = 0; l < a->n_cls; l++) {
        snprintf(nm, sizeof nm, "cls_h%zu", l + 1);
        lz_model_put_int(f, nm, (long)a->cls[l]);
    }
    lz_model_put_int(f, "class_names", mod->class_name != NULL);
    lz_model_put_array(f, "class_value", C, 1, mod->class_value);
    for (size_t c = 0; mod->class_name && c < C; c++) {
        char word[256];
        name_word(mod->class_name[c], word, sizeof word);
        snprintf(nm, sizeof nm, "class_name%zu", c + 1);
        lz_model_put_str(f, nm, word[0] ? word : "_");
    }
    vae_map_put(f, core);
    for (size_t i = 0; i < core->n_tensors; i++)
        VAE_PUT_ARRAY(f, core->t[i].name, core->t[i].rows, core->t[i].cols,
                      core->block + core->t[i].offset);
    for (size_t i = 0; i < mod->n_tensors; i++)
        VAE_PUT_ARRAY(f, mod->t[i].name, mod->t[i].rows, mod->t[i].cols,
                      mod->block + mod->t[i].offset);
    if (has_raw(a)) {
        lz_model_put_array(f, "raw_w", C, v->d, mod->raw_w);
        lz_model_put_array(f, "raw_b", 1, C, mod->raw_b);
    }
    if (a->mode == CVAE_MODE_M1) {
        lz_model_put_array(f, "m1_w", C, v->k, mod->m1_w);
        lz_model_put_array(f, "m1_b", 1, C, mod->m1_b);
    }
    lz_model_end(f);
    return LZ_OK;
}

static lz_status get_size(const lz_model *m, const char *name, long lo, long hi, size_t *out,
                          lz_error *err)
{
    long v;
    lz_status st = lz_model_get_int_range(m, name, lo, hi, &v, err);
    if (!st) *out = (size_t)v;
    return st;
}

/* the architecture of a model file, and that every array it needs is there
 * with its shape (before anything is allocated from it) */
static lz_status read_arch(const lz_model *m, const char *path, cvae_arch *a, int *bin,
                           size_t *named, lz_error *err)
{
    memset(a, 0, sizeof *a);
    vae_arch *v = &a->core;
    int mode = 0, lik = 0, dec = 0, act = 0;
    size_t learn = 0;
    char nm[48];
    lz_status st;
    if ((st = lz_model_get_choice(m, path, "mode", mode_names, 3, &mode, err)) ||
        (st = lz_model_get_choice(m, path, "likelihood", lik_names, 2, &lik, err)) ||
        (st = lz_model_get_choice(m, path, "decoder", dec_names, 2, &dec, err)) ||
        (st = lz_model_get_choice(m, path, "act", act_names, 2, &act, err)) ||
        (st = lz_model_get_choice(m, path, "binarize", bin_names, 3, bin, err)) ||
        (st = get_size(m, "d", 1, 100000000, &v->d, err)) ||
        (st = get_size(m, "k", 1, 100000, &v->k, err)) ||
        (st = get_size(m, "learn_sigma2", 0, 1, &learn, err)) ||
        (st = get_size(m, "n_enc", 0, VAE_MAX_LAYERS, &v->n_enc, err)) ||
        (st = get_size(m, "n_dec", 0, VAE_MAX_LAYERS, &v->n_dec, err)) ||
        (st = get_size(m, "classes", 2, CVAE_MAX_CLASSES, &a->C, err)) ||
        (st = get_size(m, "n_cls", 0, VAE_MAX_LAYERS, &a->n_cls, err)) ||
        (st = get_size(m, "class_names", 0, 1, named, err)))
        return st;
    for (size_t l = 0; l < v->n_enc && !st; l++) {
        snprintf(nm, sizeof nm, "enc_h%zu", l + 1);
        st = get_size(m, nm, 1, 1000000, &v->enc[l], err);
    }
    for (size_t l = 0; l < v->n_dec && !st; l++) {
        snprintf(nm, sizeof nm, "dec_h%zu", l + 1);
        st = get_size(m, nm, 1, 1000000, &v->dec[l], err);
    }
    for (size_t l = 0; l < a->n_cls && !st; l++) {
        snprintf(nm, sizeof nm, "cls_h%zu", l + 1);
        st = get_size(m, nm, 1, 1000000, &a->cls[l], err);
    }
    if (st) return st;
    a->mode = (cvae_mode)mode;
    v->lik = (vae_lik)lik;
    v->decoder = (vae_dec)dec;
    v->act = (vae_act)act;
    v->learn_sigma2 = (int)learn;
    if ((v->decoder == VAE_DEC_MLP) != (v->n_dec > 0))
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: decoder %s with n_dec = %zu", path,
                       lz_model_line(m, "n_dec"), dec_names[dec], v->n_dec);
    if (*bin != VAE_BIN_NONE && v->lik != VAE_BERNOULLI)
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: binarize %s with a Gaussian likelihood", path,
                       lz_model_line(m, "binarize"), bin_names[*bin]);
    if (a->mode != CVAE_MODE_M2 && a->n_cls)
        return lz_fail(err, LZ_EFORMAT, "%s:%zu: n_cls %zu: only M2 has a classifier network", path,
                       lz_model_line(m, "n_cls"), a->n_cls);
    vae_tensor ts[VAE_MAX_TENSORS + CVAE_MAX_TENSORS];
    size_t nt = vae_tensors(v, ts);
    nt += cvae_tensors(a, ts + nt);
    if ((st = lz_model_check_array(m, "shift", 1, v->d, err)) ||
        (lz_model_version(m) >= 2 && (st = lz_model_check_array(m, "scale", 1, v->d, err))) ||
        (st = lz_model_check_array(m, "class_value", a->C, 1, err)))
        return st;
    for (size_t i = 0; i < nt && !st; i++)
        st = lz_model_check_array(m, ts[i].name, ts[i].rows, ts[i].cols, err);
    if (!st && has_raw(a))
        if (!(st = lz_model_check_array(m, "raw_w", a->C, v->d, err)))
            st = lz_model_check_array(m, "raw_b", 1, a->C, err);
    if (!st && a->mode == CVAE_MODE_M1)
        if (!(st = lz_model_check_array(m, "m1_w", a->C, v->k, err)))
            st = lz_model_check_array(m, "m1_b", 1, a->C, err);
    return st;
}

/* the classes of a model file: values increasing (numbers), or names */
static lz_status read_classes(const lz_model *m, const char *path, cvae_model *mod, size_t named,
                              lz_error *err)
{
    size_t C = mod->a.C;
    lz_status st = lz_model_get_array(m, "class_value", C, 1, mod->class_value, err);
    for (size_t c = 1; !st && c < C; c++)
        if (!(mod->class_value[c] > mod->class_value[c - 1]))
            st = lz_fail(err, LZ_EFORMAT, "%s:%zu: array class_value: expected increasing values",
                         path, lz_model_line(m, "class_value") + 1 + c);
    if (st || !named) return st;
    if (!(mod->class_name = calloc(C, sizeof *mod->class_name)))
        return lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    for (size_t c = 0; !st && c < C; c++) {
        char nm[48];
        const char *s;
        snprintf(nm, sizeof nm, "class_name%zu", c + 1);
        if (!(st = lz_model_get_str(m, nm, &s, err)) && !(mod->class_name[c] = strdup(s)))
            st = lz_fail(err, LZ_ENOMEM, "%s: out of memory", path);
    }
    return st;
}

lz_status cvae_model_read(const char *path, cvae_model **out, lz_error *err)
{
    *out = NULL;
    lz_model *m = NULL;
    cvae_model *mod = NULL;
    lz_status st = lz_model_read(path, CVAE_MODEL_KIND, CVAE_MODEL_VERSION, &m, err);
    if (st) return st;
    cvae_arch a;
    int bin = 0;
    size_t named = 0;
    if ((st = read_arch(m, path, &a, &bin, &named, err))) goto done;
    if (!(mod = cvae_model_alloc(&a, err))) {
        st = err->status;
        goto done;
    }
    vae_model *core = mod->core;
    core->binarize = (vae_bin)bin;
    if ((st = vae_map_get(m, path, core, err))) goto done;
    for (size_t i = 0; i < core->n_tensors && !st; i++) {
        const vae_tensor *t = &core->t[i];
        st = VAE_GET_ARRAY(m, t->name, t->rows, t->cols, core->block + t->offset, err);
    }
    for (size_t i = 0; i < mod->n_tensors && !st; i++) {
        const vae_tensor *t = &mod->t[i];
        st = VAE_GET_ARRAY(m, t->name, t->rows, t->cols, mod->block + t->offset, err);
    }
    size_t C = a.C, d = a.core.d, k = a.core.k;
    if (!st && has_raw(&a) && !(st = lz_model_get_array(m, "raw_w", C, d, mod->raw_w, err)))
        st = lz_model_get_array(m, "raw_b", 1, C, mod->raw_b, err);
    if (!st && a.mode == CVAE_MODE_M1 &&
        !(st = lz_model_get_array(m, "m1_w", C, k, mod->m1_w, err)))
        st = lz_model_get_array(m, "m1_b", 1, C, mod->m1_b, err);
    if (!st) st = read_classes(m, path, mod, named, err);
    /* sigma2 = exp(log_sigma2) and its inverse must be finite doubles */
    if (!st && a.core.lik == VAE_GAUSSIAN && !(fabs((double)*core->p.log_sigma2) <= 700))
        st = lz_fail(err, LZ_EFORMAT,
                     "%s:%zu: array log_sigma2: %g: expected a log-variance in [-700, 700]", path,
                     lz_model_line(m, "log_sigma2") + 1, (double)*core->p.log_sigma2);
done:
    lz_model_free(m);
    if (st) {
        cvae_model_free(mod);
        return st;
    }
    *out = mod;
    return LZ_OK;
}
