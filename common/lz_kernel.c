/* lz_kernel.c -- the OpenBLAS kernel: detect, choose, describe (see lz_kernel.h). */
#include "lz_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LZ_X86 1
#else
#define LZ_X86 0
#endif

/* OpenBLAS's queries (declared in its cblas.h on some builds only). */
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern int openblas_get_num_procs(void);

/* ---- the CPU ---- */

#if LZ_X86
/* XCR0: the register state the operating system saves on a context switch */
static unsigned long long xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

void lz_cpu_detect(lz_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
#if LZ_X86
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned int max_leaf = a;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    if (!strcmp(vendor, "GenuineIntel"))
        cpu->vendor = LZ_CPU_INTEL;
    else if (!strcmp(vendor, "AuthenticAMD"))
        cpu->vendor = LZ_CPU_AMD;
    else if (!strcmp(vendor, "HygonGenuine"))
        cpu->vendor = LZ_CPU_HYGON;
    else
        cpu->vendor = LZ_CPU_OTHER;
    if (max_leaf < 1) return;
    __cpuid(1, a, b, c, d);
    /* display family = base + extended (when base is 0xF); display model =
     * base + extended << 4 (when base family is 6 or 0xF) */
    int base_family = (int)((a >> 8) & 0xf), base_model = (int)((a >> 4) & 0xf);
    cpu->family = base_family + (base_family == 0xf ? (int)((a >> 20) & 0xff) : 0);
    cpu->model =
        base_model + (base_family == 6 || base_family == 0xf ? (int)((a >> 16) & 0xf) << 4 : 0);
    int osxsave = (c >> 27) & 1, avx_cpu = (c >> 28) & 1, fma_cpu = (c >> 12) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int ymm_os = (xcr0 & 0x6) == 0x6;   /* SSE and AVX state            */
    int zmm_os = (xcr0 & 0xe6) == 0xe6; /* and opmask, ZMM_Hi256, Hi16_ZMM */
    cpu->avx = avx_cpu && ymm_os;
    cpu->fma = fma_cpu && cpu->avx;
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned int sub_leaves = a;
    cpu->avx2 = cpu->avx && ((b >> 5) & 1);
    cpu->avx512f = zmm_os && ((b >> 16) & 1);
    cpu->avx512dq = cpu->avx512f && ((b >> 17) & 1);
    cpu->avx512cd = cpu->avx512f && ((b >> 28) & 1);
    cpu->avx512bw = cpu->avx512f && ((b >> 30) & 1);
    cpu->avx512vl = cpu->avx512f && ((b >> 31) & 1);
    if (sub_leaves >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        cpu->avx512bf16 = cpu->avx512f && ((a >> 5) & 1);
    }
#endif
}

int lz_cpu_isa(const lz_cpu *cpu)
{
    /* each level includes the ones below it */
    if (!cpu->avx) return LZ_ISA_SSE;
    if (!cpu->avx2 || !cpu->fma) return LZ_ISA_AVX;
    if (cpu->avx512f && cpu->avx512cd && cpu->avx512bw && cpu->avx512dq && cpu->avx512vl)
        return LZ_ISA_AVX512;
    return LZ_ISA_AVX2;
}

/* ---- the kernels ---- */

/* OpenBLAS's x86 core names, each with the vector level of the CPU it is
 * named after (the level its kernels are written for).  Debian's 0.3.21
 * accepts the names from Katmai to SkylakeX in OPENBLAS_CORETYPE (Katmai,
 * Coppermine, Northwood, Banias and Athlon run as Prescott on x86-64; Atom
 * and Nano as Nehalem; Penryn, Dunnington, Opteron, Opteron_SSE3 and Bobcat
 * as Core2); it contains Cooperlake but does not accept that name, and
 * SapphireRapids came with 0.3.22. */
static const struct {
    const char *name;
    int isa;
} kernels[] = {
    {"Katmai", LZ_ISA_SSE},        {"Coppermine", LZ_ISA_SSE},
    {"Northwood", LZ_ISA_SSE},     {"Prescott", LZ_ISA_SSE},
    {"Banias", LZ_ISA_SSE},        {"Atom", LZ_ISA_SSE},
    {"Core2", LZ_ISA_SSE},         {"Penryn", LZ_ISA_SSE},
    {"Dunnington", LZ_ISA_SSE},    {"Nehalem", LZ_ISA_SSE},
    {"Athlon", LZ_ISA_SSE},        {"Opteron", LZ_ISA_SSE},
    {"Opteron_SSE3", LZ_ISA_SSE},  {"Barcelona", LZ_ISA_SSE},
    {"Nano", LZ_ISA_SSE},          {"Bobcat", LZ_ISA_SSE},
    {"Sandybridge", LZ_ISA_AVX},   {"Bulldozer", LZ_ISA_AVX},
    {"Piledriver", LZ_ISA_AVX},    {"Steamroller", LZ_ISA_AVX},
    {"Haswell", LZ_ISA_AVX2},      {"Excavator", LZ_ISA_AVX2},
    {"Zen", LZ_ISA_AVX2},          {"SkylakeX", LZ_ISA_AVX512},
    {"Cooperlake", LZ_ISA_AVX512}, {"SapphireRapids", LZ_ISA_AVX512},
};

int lz_kernel_isa(const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++)
        if (!strcasecmp(name, kernels[i].name)) return kernels[i].isa;
    return -1;
}

const char *lz_kernel_choose(const lz_cpu *cpu, const char *picked, const char *user)
{
    if (user) return NULL; /* the user's choice, whatever it is */
    if (cpu->vendor != LZ_CPU_INTEL && cpu->vendor != LZ_CPU_AMD && cpu->vendor != LZ_CPU_HYGON)
        return NULL;
    int have = lz_kernel_isa(picked), can = lz_cpu_isa(cpu);
    if (have < 0 || have >= can) return NULL;
    switch (can) {
    case LZ_ISA_AVX512: return "SkylakeX";
    case LZ_ISA_AVX2: return cpu->vendor == LZ_CPU_INTEL ? "Haswell" : "Zen";
    case LZ_ISA_AVX: return "Sandybridge";
    default: return NULL;
    }
}

/* ---- start-up ---- */

void lz_kernel_startup(char **argv, int omp_passive)
{
#if defined(__linux__)
    int passive = omp_passive && !getenv("OMP_WAIT_POLICY");
    const char *k = NULL, *picked = NULL;
#if LZ_X86
    /* executed again by the code below (or by a parent that was): the kernel
     * is chosen */
    const char *config = openblas_get_config();
    if (!getenv(LZ_KERNEL_CHOSEN_ENV) && config && strstr(config, "DYNAMIC_ARCH")) {
        picked = openblas_get_corename();
        const char *pretend = getenv(LZ_KERNEL_PRETEND_ENV);
        if (pretend && *pretend) picked = pretend;
        lz_cpu cpu;
        lz_cpu_detect(&cpu);
        k = lz_kernel_choose(&cpu, picked, getenv("OPENBLAS_CORETYPE"));
    }
#endif
    if ((!k && !passive) || !argv || !argv[0]) return;
    /* started through the dynamic loader (ld.so PROG): /proc/self/exe is the
     * loader, which would read argv differently */
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return;
    exe[len] = '\0';
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    if (!strncmp(base, "ld-", 3) || !strncmp(base, "ld.so", 5) || !strncmp(base, "ld64", 4)) return;
    char mark[128];
    snprintf(mark, sizeof mark, "%s:%s", k ? k : "", picked ? picked : "?");
    int bad = 0;
    if (k) bad = setenv("OPENBLAS_CORETYPE", k, 1) || setenv(LZ_KERNEL_CHOSEN_ENV, mark, 1);
    if (passive && !bad) bad = setenv("OMP_WAIT_POLICY", "passive", 1);
    if (!bad) {
        fflush(NULL);
        execv("/proc/self/exe", argv);
    }
    /* still here: run as started */
    if (k) {
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv(LZ_KERNEL_CHOSEN_ENV);
    }
    if (passive) unsetenv("OMP_WAIT_POLICY");
#else
    (void)argv;
    (void)omp_passive;
#endif
}

/* ---- description ---- */

int lz_num_cores(void) { return openblas_get_num_procs(); }

void lz_blas_describe(char *buf, size_t cap, int threads, int omp_threads)
{
    char lib[32] = "BLAS", ver[32] = "";
    const char *config = openblas_get_config();
    if (config && sscanf(config, "%31s %31s", lib, ver) < 1) snprintf(lib, sizeof lib, "BLAS");
    const char *core = openblas_get_corename();
    if (!core) core = "?";
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *mark = getenv(LZ_KERNEL_CHOSEN_ENV);
    /* latent-zoo chose the kernel when the marker's first part is the
     * variable's value */
    int ours = 0;
    char from[64] = "?";
    if (user && mark) {
        const char *colon = strchr(mark, ':');
        size_t n = colon ? (size_t)(colon - mark) : strlen(mark);
        ours = n == strlen(user) && !strncasecmp(mark, user, n);
        if (colon) snprintf(from, sizeof from, "%s", colon + 1);
    }
    char origin[256];
    if (!user)
        snprintf(origin, sizeof origin, "(auto)");
    else if (strcasecmp(user, core) && ours)
        snprintf(origin, sizeof origin, "(chosen by latent-zoo: %s, which did not take)", user);
    else if (strcasecmp(user, core))
        snprintf(origin, sizeof origin, "(OPENBLAS_CORETYPE=%s did not take)", user);
    else if (ours)
        snprintf(origin, sizeof origin,
                 "(chosen by latent-zoo: %s %s does not know this CPU and picked %s)", lib, ver,
                 from);
    else
        snprintf(origin, sizeof origin, "(set by OPENBLAS_CORETYPE)");
    char thr[96];
    if (omp_threads > 0)
        snprintf(thr, sizeof thr, "1 thread in each of up to %d OpenMP thread%s", omp_threads,
                 omp_threads == 1 ? "" : "s");
    else {
        if (threads <= 0) threads = lz_num_cores();
        snprintf(thr, sizeof thr, "%d thread%s", threads, threads == 1 ? "" : "s");
    }
    snprintf(buf, cap, "%s%s%s, kernel %s %s, %s", lib, *ver ? " " : "", ver, core, origin, thr);
}
