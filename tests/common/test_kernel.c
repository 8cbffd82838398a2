/* test_kernel.c -- the choice of the OpenBLAS kernel (lz_kernel.h):
 * a table of CPUs and OpenBLAS picks with the kernel each must get, the
 * invariants of the choice over every combination of CPU features (never a
 * kernel the CPU cannot run, never a weaker one, a user setting always wins),
 * detection against the kernel's own view in /proc/cpuinfo, and the
 * description's wording of where the kernel came from. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lz_blas.h"
#include "lz_kernel.h"
#include "lz_check.h"

/* CPU feature sets by name */
enum { SSE, AVX, AVX2, AVX512, AVX512_BF16, KNL, AVX2_NO_FMA };

static lz_cpu make_cpu(lz_cpu_vendor v, int set)
{
    lz_cpu c;
    memset(&c, 0, sizeof c);
    c.vendor = v;
    c.family = 6;
    switch (set) {
    case AVX512_BF16: c.avx512bf16 = 1; /* fall through */
    case AVX512:
        c.avx512bw = c.avx512dq = c.avx512vl = 1;
        /* fall through */
    case KNL:
        c.avx512f = c.avx512cd = 1; /* Knights Landing: F and CD only */
        /* fall through */
    case AVX2: c.fma = 1;         /* fall through */
    case AVX2_NO_FMA: c.avx2 = 1; /* fall through */
    case AVX: c.avx = 1;          /* fall through */
    case SSE: break;
    }
    return c;
}

typedef struct {
    lz_cpu_vendor vendor;
    int set;
    const char *picked, *user, *want; /* want NULL: keep */
} choice_case;

static const choice_case cases[] = {
    /* the case the module is for: an AVX-512 Xeon OpenBLAS does not know */
    {LZ_CPU_INTEL, AVX512, "Prescott", NULL, "SkylakeX"},
    {LZ_CPU_INTEL, AVX512_BF16, "Prescott", NULL, "SkylakeX"},
    {LZ_CPU_INTEL, AVX512, "prescott", NULL, "SkylakeX"}, /* names are case-blind */
    {LZ_CPU_INTEL, AVX512, "Core2", NULL, "SkylakeX"},
    {LZ_CPU_INTEL, AVX512, "Nehalem", NULL, "SkylakeX"},
    {LZ_CPU_INTEL, AVX512, "Sandybridge", NULL, "SkylakeX"},
    {LZ_CPU_INTEL, AVX512, "Haswell", NULL, "SkylakeX"},
    /* AVX2 CPUs */
    {LZ_CPU_INTEL, AVX2, "Prescott", NULL, "Haswell"},
    {LZ_CPU_INTEL, AVX2, "Sandybridge", NULL, "Haswell"},
    {LZ_CPU_AMD, AVX2, "Prescott", NULL, "Zen"},
    {LZ_CPU_AMD, AVX2, "Barcelona", NULL, "Zen"},
    {LZ_CPU_HYGON, AVX2, "Prescott", NULL, "Zen"},
    {LZ_CPU_AMD, AVX512, "Prescott", NULL, "SkylakeX"},
    /* AVX without AVX2 (or AVX2 without FMA) */
    {LZ_CPU_INTEL, AVX, "Prescott", NULL, "Sandybridge"},
    {LZ_CPU_INTEL, AVX, "Nehalem", NULL, "Sandybridge"},
    {LZ_CPU_INTEL, AVX2_NO_FMA, "Prescott", NULL, "Sandybridge"},
    /* Knights Landing has AVX-512 F and CD only: not the SkylakeX kernel */
    {LZ_CPU_INTEL, KNL, "Prescott", NULL, "Haswell"},
    {LZ_CPU_INTEL, KNL, "Haswell", NULL, NULL},
    /* a kernel of the CPU's widest vector level is kept */
    {LZ_CPU_INTEL, AVX512, "SkylakeX", NULL, NULL},
    {LZ_CPU_INTEL, AVX512_BF16, "Cooperlake", NULL, NULL},
    {LZ_CPU_INTEL, AVX512, "SapphireRapids", NULL, NULL},
    {LZ_CPU_AMD, AVX2, "Zen", NULL, NULL},
    {LZ_CPU_INTEL, AVX2, "Haswell", NULL, NULL},
    {LZ_CPU_INTEL, AVX2, "Zen", NULL, NULL},
    {LZ_CPU_AMD, AVX2, "Haswell", NULL, NULL},
    {LZ_CPU_AMD, AVX2, "Excavator", NULL, NULL},
    {LZ_CPU_INTEL, AVX, "Sandybridge", NULL, NULL},
    {LZ_CPU_AMD, AVX, "Piledriver", NULL, NULL},
    /* nothing better to give an SSE-only CPU */
    {LZ_CPU_INTEL, SSE, "Prescott", NULL, NULL},
    {LZ_CPU_AMD, SSE, "Barcelona", NULL, NULL},
    /* the user's setting always wins, even a weak or empty one */
    {LZ_CPU_INTEL, AVX512, "Prescott", "Prescott", NULL},
    {LZ_CPU_INTEL, AVX512, "Haswell", "Bogus", NULL},
    {LZ_CPU_INTEL, AVX512, "Haswell", "", NULL},
    {LZ_CPU_AMD, AVX2, "Prescott", "Core2", NULL},
    /* other or unknown vendors, off x86, unknown kernels: keep */
    {LZ_CPU_OTHER, AVX512, "Prescott", NULL, NULL},
    {LZ_CPU_UNKNOWN, AVX512, "Prescott", NULL, NULL},
    {LZ_CPU_UNKNOWN, SSE, "ARMV8", NULL, NULL},
    {LZ_CPU_INTEL, AVX512, "Unknown", NULL, NULL},
    {LZ_CPU_INTEL, AVX512, "GraniteRapids", NULL, NULL},
    {LZ_CPU_INTEL, AVX512, "", NULL, NULL},
    {LZ_CPU_INTEL, AVX512, NULL, NULL, NULL},
};

START_TEST(choice_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const choice_case *t = &cases[i];
        lz_cpu c = make_cpu(t->vendor, t->set);
        const char *got = lz_kernel_choose(&c, t->picked, t->user);
        if (!t->want)
            ck_assert_msg(got == NULL, "case %zu (picked %s, user %s): chose %s, expected to keep",
                          i, t->picked ? t->picked : "NULL", t->user ? t->user : "NULL", got);
        else
            ck_assert_msg(got && !strcmp(got, t->want),
                          "case %zu (picked %s): chose %s, expected %s", i,
                          t->picked ? t->picked : "NULL", got ? got : "NULL", t->want);
    }
}
END_TEST

START_TEST(isa_levels)
{
    static const struct {
        int set, isa;
    } cpus[] = {{SSE, LZ_ISA_SSE},           {AVX, LZ_ISA_AVX},  {AVX2_NO_FMA, LZ_ISA_AVX},
                {AVX2, LZ_ISA_AVX2},         {KNL, LZ_ISA_AVX2}, {AVX512, LZ_ISA_AVX512},
                {AVX512_BF16, LZ_ISA_AVX512}};
    for (size_t i = 0; i < sizeof cpus / sizeof cpus[0]; i++) {
        lz_cpu c = make_cpu(LZ_CPU_INTEL, cpus[i].set);
        ck_assert_int_eq(lz_cpu_isa(&c), cpus[i].isa);
    }
    /* one AVX-512 subset missing drops to AVX2 */
    for (int drop = 0; drop < 5; drop++) {
        lz_cpu c = make_cpu(LZ_CPU_INTEL, AVX512);
        int *f[] = {&c.avx512f, &c.avx512cd, &c.avx512bw, &c.avx512dq, &c.avx512vl};
        *f[drop] = 0;
        ck_assert_int_eq(lz_cpu_isa(&c), LZ_ISA_AVX2);
    }
    ck_assert_int_eq(lz_kernel_isa("Prescott"), LZ_ISA_SSE);
    ck_assert_int_eq(lz_kernel_isa("NEHALEM"), LZ_ISA_SSE);
    ck_assert_int_eq(lz_kernel_isa("Sandybridge"), LZ_ISA_AVX);
    ck_assert_int_eq(lz_kernel_isa("zen"), LZ_ISA_AVX2);
    ck_assert_int_eq(lz_kernel_isa("Haswell"), LZ_ISA_AVX2);
    ck_assert_int_eq(lz_kernel_isa("SkylakeX"), LZ_ISA_AVX512);
    ck_assert_int_eq(lz_kernel_isa("Unknown"), -1);
    ck_assert_int_eq(lz_kernel_isa("Skylake"), -1);
    ck_assert_int_eq(lz_kernel_isa(""), -1);
    ck_assert_int_eq(lz_kernel_isa(NULL), -1);
}
END_TEST

/* Every combination of the feature flags, vendors and OpenBLAS picks: a
 * chosen kernel is one the CPU can run, is stronger than the pick, is one of
 * the names Debian's OpenBLAS 0.3.21 accepts, and is never chosen over a
 * user setting or on a vendor other than Intel/AMD/Hygon. */
START_TEST(choice_invariants)
{
    static const char *picks[] = {"Katmai",      "Prescott",  "Atom",       "Core2",
                                  "Penryn",      "Nehalem",   "Barcelona",  "Bobcat",
                                  "Sandybridge", "Bulldozer", "Piledriver", "Steamroller",
                                  "Excavator",   "Haswell",   "Zen",        "SkylakeX",
                                  "Cooperlake",  "Unknown",   "POWER9",     NULL};
    static const char *accepted[] = {"SkylakeX", "Haswell", "Zen", "Sandybridge"};
    const lz_cpu_vendor vendors[] = {LZ_CPU_UNKNOWN, LZ_CPU_INTEL, LZ_CPU_AMD, LZ_CPU_HYGON,
                                     LZ_CPU_OTHER};
    size_t chosen = 0;
    for (unsigned bits = 0; bits < 1u << 10; bits++)
        for (size_t v = 0; v < sizeof vendors / sizeof vendors[0]; v++)
            for (size_t p = 0; p < sizeof picks / sizeof picks[0]; p++) {
                lz_cpu c;
                memset(&c, 0, sizeof c);
                c.vendor = vendors[v];
                int *f[] = {&c.avx,      &c.avx2,     &c.fma,      &c.avx512f,   &c.avx512cd,
                            &c.avx512bw, &c.avx512dq, &c.avx512vl, &c.avx512bf16};
                for (int b = 0; b < 9; b++) *f[b] = (bits >> b) & 1;
                const char *user = (bits >> 9) & 1 ? "Prescott" : NULL;
                const char *got = lz_kernel_choose(&c, picks[p], user);
                if (!got) continue;
                chosen++;
                ck_assert_msg(!user, "overrode the user's setting");
                ck_assert(c.vendor == LZ_CPU_INTEL || c.vendor == LZ_CPU_AMD ||
                          c.vendor == LZ_CPU_HYGON);
                ck_assert_int_le(lz_kernel_isa(got), lz_cpu_isa(&c));
                ck_assert_int_gt(lz_kernel_isa(got), lz_kernel_isa(picks[p]));
                ck_assert_int_ge(lz_kernel_isa(picks[p]), 0);
                int ok = 0;
                for (size_t a = 0; a < sizeof accepted / sizeof accepted[0]; a++)
                    ok |= !strcmp(got, accepted[a]);
                ck_assert_msg(ok, "chose %s", got);
                /* the CPU has what the kernel uses */
                if (!strcmp(got, "SkylakeX"))
                    ck_assert(c.avx512f && c.avx512cd && c.avx512bw && c.avx512dq && c.avx512vl);
                if (!strcmp(got, "Haswell") || !strcmp(got, "Zen")) ck_assert(c.avx2 && c.fma);
                ck_assert(c.avx);
            }
    ck_assert_uint_gt(chosen, 0);
}
END_TEST

/* does /proc/cpuinfo's first "flags" line list this flag? */
static int cpuinfo_has(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)); p += n)
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return 1;
    return 0;
}

/* Detection against Linux's own view: /proc/cpuinfo lists a vector flag only
 * when the CPU has it and the kernel enables its register state. */
START_TEST(detection_matches_proc_cpuinfo)
{
#if defined(__x86_64__) || defined(__i386__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return; /* not Linux: nothing to compare with */
    char line[8192], flags[8192] = "", vendor[64] = "";
    while (fgets(line, sizeof line, f)) {
        if (!flags[0] && !strncmp(line, "flags", 5)) snprintf(flags, sizeof flags, "%s", line);
        if (!vendor[0] && !strncmp(line, "vendor_id", 9)) sscanf(line, "vendor_id : %63s", vendor);
    }
    fclose(f);
    ck_assert_msg(flags[0] && vendor[0], "/proc/cpuinfo without flags or vendor_id");
    lz_cpu c;
    lz_cpu_detect(&c);
    lz_cpu_vendor want = !strcmp(vendor, "GenuineIntel")   ? LZ_CPU_INTEL
                         : !strcmp(vendor, "AuthenticAMD") ? LZ_CPU_AMD
                         : !strcmp(vendor, "HygonGenuine") ? LZ_CPU_HYGON
                                                           : LZ_CPU_OTHER;
    ck_assert_int_eq(c.vendor, want);
    ck_assert_int_eq(c.avx, cpuinfo_has(flags, "avx"));
    ck_assert_int_eq(c.avx2, cpuinfo_has(flags, "avx2"));
    ck_assert_int_eq(c.fma, cpuinfo_has(flags, "fma"));
    ck_assert_int_eq(c.avx512f, cpuinfo_has(flags, "avx512f"));
    ck_assert_int_eq(c.avx512cd, cpuinfo_has(flags, "avx512cd"));
    ck_assert_int_eq(c.avx512bw, cpuinfo_has(flags, "avx512bw"));
    ck_assert_int_eq(c.avx512dq, cpuinfo_has(flags, "avx512dq"));
    ck_assert_int_eq(c.avx512vl, cpuinfo_has(flags, "avx512vl"));
    ck_assert_int_eq(c.avx512bf16, cpuinfo_has(flags, "avx512_bf16"));
    /* and against the compiler's view (which checks the OS state too) */
    __builtin_cpu_init();
    ck_assert_int_eq(c.avx, !!__builtin_cpu_supports("avx"));
    ck_assert_int_eq(c.avx2, !!__builtin_cpu_supports("avx2"));
    ck_assert_int_eq(c.fma, !!__builtin_cpu_supports("fma"));
    ck_assert_int_eq(c.avx512f, !!__builtin_cpu_supports("avx512f"));
#else
    lz_cpu c;
    lz_cpu_detect(&c);
    ck_assert_int_eq(c.vendor, LZ_CPU_UNKNOWN);
    ck_assert_int_eq(lz_cpu_isa(&c), LZ_ISA_SSE);
#endif
}
END_TEST

/* On the machine the tests run on, the start-up decision agrees with the
 * pure function (this process did not go through the start-up). */
START_TEST(this_machine)
{
    lz_cpu c;
    lz_cpu_detect(&c);
    const char *core = openblas_get_corename();
    ck_assert_ptr_nonnull(core);
    const char *k = lz_kernel_choose(&c, core, NULL);
    if (k) ck_assert_int_gt(lz_kernel_isa(k), lz_kernel_isa(core));
    /* a kernel OpenBLAS picks for this CPU is one the CPU can run (a kernel
     * forced by OPENBLAS_CORETYPE need not be) */
    if (!getenv("OPENBLAS_CORETYPE") && lz_kernel_isa(core) >= 0 && c.vendor != LZ_CPU_UNKNOWN)
        ck_assert_int_le(lz_kernel_isa(core), lz_cpu_isa(&c));
}
END_TEST

START_TEST(description_says_where_the_kernel_came_from)
{
    char buf[512], want[256];
    const char *core = openblas_get_corename();
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(LZ_KERNEL_CHOSEN_ENV);
    lz_blas_describe(buf, sizeof buf, 3, 0);
    ck_assert_msg(!strncmp(buf, "OpenBLAS 0.", 11), "%s", buf);
    snprintf(want, sizeof want, ", kernel %s (auto), 3 threads", core);
    ck_assert_msg(strstr(buf, want), "%s lacks %s", buf, want);
    /* the version is the library's own */
    char ver[64];
    ck_assert_int_eq(sscanf(openblas_get_config(), "OpenBLAS %63s", ver), 1);
    ck_assert_ptr_nonnull(strstr(buf, ver));

    setenv("OPENBLAS_CORETYPE", core, 1); /* what the user asked is what runs */
    lz_blas_describe(buf, sizeof buf, 1, 0);
    snprintf(want, sizeof want, ", kernel %s (set by OPENBLAS_CORETYPE), 1 thread", core);
    ck_assert_msg(strstr(buf, want), "%s lacks %s", buf, want);

    setenv("OPENBLAS_CORETYPE", "NoSuchCore", 1);
    lz_blas_describe(buf, sizeof buf, 2, 0);
    snprintf(want, sizeof want, ", kernel %s (OPENBLAS_CORETYPE=NoSuchCore did not take)", core);
    ck_assert_msg(strstr(buf, want), "%s lacks %s", buf, want);

    /* chosen by the start-up: the marker names the kernel and the old pick */
    char mark[128];
    snprintf(mark, sizeof mark, "%s:Prescott", core);
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv(LZ_KERNEL_CHOSEN_ENV, mark, 1);
    lz_blas_describe(buf, sizeof buf, 0, 4);
    snprintf(want, sizeof want,
             ", kernel %s (chosen by latent-zoo: OpenBLAS %s does not know "
             "this CPU and picked Prescott), 1 thread in each of up to 4 "
             "OpenMP threads",
             core, ver);
    ck_assert_msg(strstr(buf, want), "%s lacks %s", buf, want);

    /* a marker that does not match the variable is not ours: the user's */
    setenv(LZ_KERNEL_CHOSEN_ENV, "Other:Prescott", 1);
    lz_blas_describe(buf, sizeof buf, 2, 0);
    ck_assert_msg(strstr(buf, "(set by OPENBLAS_CORETYPE)"), "%s", buf);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(LZ_KERNEL_CHOSEN_ENV);

    /* threads <= 0: one per core */
    lz_blas_describe(buf, sizeof buf, 0, 0);
    snprintf(want, sizeof want, ", %d thread%s", lz_num_cores(), lz_num_cores() == 1 ? "" : "s");
    ck_assert_msg(strstr(buf, want), "%s lacks %s", buf, want);
    /* a small buffer is cut, not overrun */
    char small[16];
    lz_blas_describe(small, sizeof small, 1, 0);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kernel");
    TCase *t = tcase_create("all");
    tcase_add_test(t, choice_table);
    tcase_add_test(t, isa_levels);
    tcase_add_test(t, choice_invariants);
    tcase_add_test(t, detection_matches_proc_cpuinfo);
    tcase_add_test(t, this_machine);
    tcase_add_test(t, description_says_where_the_kernel_came_from);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return lz_check_main(suite()); }
