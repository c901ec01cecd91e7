#include "pastiche_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

/* Portable path: every output the SIMD path does not cover (and all of them without AVX2). */
static void conv_direct_scalar(const float *in, int cin, size_t in_stride, const float *w, int cout, int k,
                               const float *bias, float *out, size_t out_plane, size_t out_stride, int rows_out,
                               int x0, int x1) {
    size_t in_rows = (size_t)rows_out + (size_t)k - 1;
    for (int co = 0; co < cout; co++) {
        for (int r = 0; r < rows_out; r++) {
            float *o = out + (size_t)co * out_plane + (size_t)r * out_stride;
            for (int x = x0; x < x1; x++) o[x] = bias ? bias[co] : 0;
            for (int ci = 0; ci < cin; ci++) {
                const float *wc = w + ((size_t)co * cin + ci) * k * k;
                for (int ky = 0; ky < k; ky++) {
                    const float *row = in + ((size_t)ci * in_rows + r + ky) * in_stride;
                    for (int kx = 0; kx < k; kx++) {
                        float wv = wc[ky * k + kx];
                        for (int x = x0; x < x1; x++) o[x] += wv * row[x + kx];
                    }
                }
            }
        }
    }
}

#ifdef PK_X86
/*
 * CO output channels x XB vectors of 8 pixels: CO*XB accumulators, XB input vectors and one
 * broadcast weight live in the 16 ymm registers (CO*XB + XB + 1 <= 16), so each tap costs
 * XB + CO loads for CO*XB FMAs. The kx loop stays rolled: unrolled, clang rotates and spills
 * the accumulator array.
 * Blocks start every 8*XB pixels; the last one is moved left to end at x_end, recomputing a
 * few outputs with the same arithmetic instead of leaving a scalar tail (out is written, not
 * accumulated, so the overlap is harmless).
 */
#define DEFINE_KERNEL(CO, XB)                                                                             \
    __attribute__((target("avx2,fma"))) static void conv_c##CO##_x##XB(                                  \
        const float *in, int cin, size_t in_stride, const float *w, size_t w_co, int k, const float *bias, \
        float *out, size_t out_plane, size_t out_stride, int rows_out, int x_end) {                      \
        size_t in_rows = (size_t)rows_out + (size_t)k - 1;                                                \
        for (int r = 0; r < rows_out; r++) {                                                              \
            for (int xb = 0; xb < x_end; xb += 8 * XB) {                                                  \
                int x = xb + 8 * XB <= x_end ? xb : x_end - 8 * XB;                                       \
                __m256 acc[CO][XB];                                                                       \
                for (int co = 0; co < CO; co++)                                                           \
                    for (int b = 0; b < XB; b++) acc[co][b] = _mm256_set1_ps(bias ? bias[co] : 0.f);     \
                for (int ci = 0; ci < cin; ci++) {                                                        \
                    for (int ky = 0; ky < k; ky++) {                                                      \
                        const float *row = in + ((size_t)ci * in_rows + r + ky) * in_stride + x;          \
                        const float *wr = w + ((size_t)ci * k + ky) * k;                                  \
                        _Pragma("clang loop unroll(disable)") for (int kx = 0; kx < k; kx++) {            \
                            __m256 v[XB];                                                                 \
                            for (int b = 0; b < XB; b++) v[b] = _mm256_loadu_ps(row + kx + 8 * b);        \
                            for (int co = 0; co < CO; co++) {                                             \
                                __m256 wv = _mm256_broadcast_ss(wr + co * w_co + kx);                     \
                                for (int b = 0; b < XB; b++) acc[co][b] = _mm256_fmadd_ps(wv, v[b], acc[co][b]); \
                            }                                                                             \
                        }                                                                                 \
                    }                                                                                     \
                }                                                                                         \
                for (int co = 0; co < CO; co++) {                                                         \
                    float *o = out + (size_t)co * out_plane + (size_t)r * out_stride + x;                 \
                    for (int b = 0; b < XB; b++) _mm256_storeu_ps(o + 8 * b, acc[co][b]);                 \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

DEFINE_KERNEL(1, 6)
DEFINE_KERNEL(2, 4)
DEFINE_KERNEL(3, 3)
DEFINE_KERNEL(4, 2)
DEFINE_KERNEL(5, 2)
DEFINE_KERNEL(6, 2)
DEFINE_KERNEL(1, 1)
DEFINE_KERNEL(2, 1)
DEFINE_KERNEL(3, 1)
DEFINE_KERNEL(4, 1)
DEFINE_KERNEL(5, 1)
DEFINE_KERNEL(6, 1)

typedef void (*kernel_fn)(const float *, int, size_t, const float *, size_t, int, const float *, float *, size_t,
                          size_t, int, int);
/* Indexed by channels per pass: the wide kernel and its one-vector version for narrow images. */
static const kernel_fn wide[7] = {0, conv_c1_x6, conv_c2_x4, conv_c3_x3, conv_c4_x2, conv_c5_x2, conv_c6_x2};
static const int wide_blocks[7] = {0, 6, 4, 3, 2, 2, 2};
static const kernel_fn narrow[7] = {0, conv_c1_x1, conv_c2_x1, conv_c3_x1, conv_c4_x1, conv_c5_x1, conv_c6_x1};
#endif

int pk_simd_available(void) {
#ifdef PK_X86
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
#else
    return 0;
#endif
}

/* Output channels per pass: at most 6 (12 accumulators), greedily: 8 runs as 6 + 2, 16 as 6 + 6 + 4
 * (fewer, fuller passes; 4 + 4 and 6 + 5 + 5 were slower, docs/performance-log.md). */
static int pass_channels(int remaining) { return remaining < 6 ? remaining : 6; }

void pk_conv_direct(const float *in, int cin, size_t in_stride, const float *w, int cout, int k, const float *bias,
                    float *out, size_t out_plane, size_t out_stride, int rows_out, int wout) {
    size_t w_co = (size_t)cin * k * k;
    for (int c0 = 0; c0 < cout;) {
        int cc = pass_channels(cout - c0);
        const float *wc = w + c0 * w_co, *bc = bias ? bias + c0 : 0;
        float *oc = out + c0 * out_plane;
        int done = 0;
#ifdef PK_X86
        if (pk_simd_available()) {
            if (wout >= 8 * wide_blocks[cc]) {
                wide[cc](in, cin, in_stride, wc, w_co, k, bc, oc, out_plane, out_stride, rows_out, wout);
                done = wout;
            } else if (wout >= 8) {
                narrow[cc](in, cin, in_stride, wc, w_co, k, bc, oc, out_plane, out_stride, rows_out, wout);
                done = wout;
            }
        }
#endif
        if (done < wout)
            conv_direct_scalar(in, cin, in_stride, wc, cc, k, bc, oc, out_plane, out_stride, rows_out, done, wout);
        c0 += cc;
    }
}
