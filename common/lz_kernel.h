/* lz_kernel.h -- which OpenBLAS kernel runs, and the best one the CPU has.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's is) carries one kernel set per
 * CPU family and picks one when the library loads, from the CPU's
 * family/model numbers.  A CPU newer than the library falls back to an old
 * kernel (Debian's 0.3.21 runs the SSE3 "Prescott" kernel on Intel family 6
 * models from 0xB0 up, AVX-512 Xeons among them: 2-6x slower than its
 * SkylakeX kernel on the same machine).  The only way to pick another kernel
 * is the environment variable OPENBLAS_CORETYPE, read once, when the library
 * loads -- before main() runs.  So a program that wants a better kernel sets
 * the variable and executes itself again (lz_kernel_startup).
 *
 * The decision is a pure function (lz_kernel_choose) of the CPU's features,
 * the kernel OpenBLAS picked and the user's OPENBLAS_CORETYPE; the rules are
 * stated there.  See docs/developers.md ("The BLAS kernel").
 */
#ifndef LZ_KERNEL_H
#define LZ_KERNEL_H

#include <stddef.h>

typedef enum {
    LZ_CPU_UNKNOWN = 0, /* not x86, or cpuid not available                  */
    LZ_CPU_INTEL,       /* "GenuineIntel"                                   */
    LZ_CPU_AMD,         /* "AuthenticAMD"                                   */
    LZ_CPU_HYGON,       /* "HygonGenuine" (AMD Zen cores)                   */
    LZ_CPU_OTHER        /* any other x86 vendor                             */
} lz_cpu_vendor;

/* What the CPU can run.  Every vector flag means "the CPU has it AND the
 * operating system saves its registers" (XCR0 read by xgetbv), i.e. the
 * instructions can be used. */
typedef struct {
    lz_cpu_vendor vendor;
    int family, model; /* display family and model (extended fields folded in) */
    int avx, avx2, fma;
    int avx512f, avx512cd, avx512bw, avx512dq, avx512vl, avx512bf16;
} lz_cpu;

/* Vector instruction levels, in increasing order. */
enum {
    LZ_ISA_SSE = 0,   /* SSE2/SSE3 (every x86-64)                           */
    LZ_ISA_AVX = 1,   /* 256-bit AVX without FMA3/AVX2                      */
    LZ_ISA_AVX2 = 2,  /* AVX2 + FMA3                                        */
    LZ_ISA_AVX512 = 3 /* AVX-512 F, CD, BW, DQ, VL (what SkylakeX kernels use) */
};

/* Detect this CPU (all zero, vendor LZ_CPU_UNKNOWN, off x86). */
void lz_cpu_detect(lz_cpu *cpu);

/* The highest LZ_ISA_* level the CPU supports. */
int lz_cpu_isa(const lz_cpu *cpu);

/* The LZ_ISA_* level a kernel of OpenBLAS is written for (case-insensitive
 * core name as openblas_get_corename() or OPENBLAS_CORETYPE spell it), or -1
 * for a name not in the table. */
int lz_kernel_isa(const char *name);

/* The kernel to force, or NULL to keep what OpenBLAS picked.
 *   cpu     the CPU (lz_cpu_detect)
 *   picked  the kernel OpenBLAS picked (openblas_get_corename())
 *   user    the user's OPENBLAS_CORETYPE (getenv), NULL when not set
 * Rules, in order:
 *   1. a user setting always wins, whatever its value (OpenBLAS reads even
 *      an empty one as a name): NULL;
 *   2. only on Intel, AMD and Hygon CPUs (never off x86, never on another or
 *      unknown vendor), and only for a kernel in the table: else NULL;
 *   3. a kernel written for the CPU's widest vector level (or wider) is kept:
 *      NULL (e.g. "Zen" or "Haswell" on an AVX2 CPU without AVX-512);
 *   4. a weaker kernel is replaced by the best one for the CPU's level that
 *      Debian's OpenBLAS 0.3.21 accepts by name: "SkylakeX" (AVX-512),
 *      "Zen" (AVX2 on AMD/Hygon), "Haswell" (AVX2 on Intel), "Sandybridge"
 *      (AVX).  Never a kernel the CPU cannot run: OpenBLAS accepts any named
 *      kernel, and one with instructions the CPU lacks dies of SIGILL.
 * The string returned is static. */
const char *lz_kernel_choose(const lz_cpu *cpu, const char *picked, const char *user);

/* Environment variables of the start-up:
 *   LZ_KERNEL_CHOSEN         set by lz_kernel_startup when it forces a kernel,
 *                            "KERNEL:PICKED" (the kernel forced, the one
 *                            OpenBLAS had picked); the process executed again
 *                            sees it and goes on (it never loops), and
 *                            lz_blas_describe says where the kernel came from.
 *   LZ_KERNEL_TEST_PRETEND   tests only: pretend OpenBLAS picked this kernel
 *                            (e.g. Prescott), to run the re-execution path on
 *                            a CPU that OpenBLAS knows. */
#define LZ_KERNEL_CHOSEN_ENV "LZ_KERNEL_CHOSEN"
#define LZ_KERNEL_PRETEND_ENV "LZ_KERNEL_TEST_PRETEND"

/* The first call of every program (lz_cli_start makes it): when
 * lz_kernel_choose names a kernel and the library is a DYNAMIC_ARCH
 * OpenBLAS, set OPENBLAS_CORETYPE and LZ_KERNEL_CHOSEN; when omp_passive is
 * set and the user has not set OMP_WAIT_POLICY, set it to "passive" (the
 * OpenMP runtime, like OpenBLAS, reads its variables once, when it loads:
 * threads that wait at the end of a parallel region then sleep instead of
 * spinning, which keeps a program of many short regions from stalling when
 * another job shares its cores; docs/developers.md, "Threads").  Either way
 * execute /proc/self/exe with the same argv, once.  Returns when nothing is
 * to be done, when the program was started through the dynamic loader
 * (ld.so PROG), or when the execution fails (the program then goes on as it
 * was started and the variables are removed again). */
void lz_kernel_startup(char **argv, int omp_passive);

/* Cores this process may run on (OpenBLAS's count): the threads of a run
 * with the default --threads 0. */
int lz_num_cores(void);

/* One line (no newline) describing the BLAS into buf:
 *   "OpenBLAS 0.3.21, kernel Zen (auto), 2 threads"
 * The kernel's origin is one of "(auto)", "(set by OPENBLAS_CORETYPE)",
 * "(chosen by latent-zoo: OpenBLAS 0.3.21 does not know this CPU and picked
 * Prescott)", or, when the library runs another kernel than
 * OPENBLAS_CORETYPE asks for, "(OPENBLAS_CORETYPE=X did not take)".
 * threads: the BLAS threads (<= 0: the default of a run, one per core);
 * omp_threads > 0: BLAS is single-threaded, called from that many OpenMP
 * threads of the program ("1 thread in each of 2 OpenMP threads"). */
void lz_blas_describe(char *buf, size_t cap, int threads, int omp_threads);

#endif
