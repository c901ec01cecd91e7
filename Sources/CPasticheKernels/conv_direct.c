#include "pastiche_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

/* Portable reference path: also handles the tail columns of the SIMD path. */
static void conv_direct_scalar(const float *in, int cin, size_t in_stride, const float *w, int cout, int k,
                               float *out, size_t out_plane, size_t out_stride, int rows_out,
                               int x0, int x1) {
    size_t in_rows = (size_t)rows_out + (size_t)k - 1;
    for (int co = 0; co < cout; co++) {
        for (int r = 0; r < rows_out; r++) {
            float *o = out + (size_t)co * out_plane + (size_t)r * out_stride;
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
/* COUT output channels x XB vectors of 8 pixels in registers. */
#define DEFINE_KERNEL(COUT, XB)                                                                           \
    __attribute__((target("avx2,fma"))) static void conv_c##COUT##_x##XB(                                \
        const float *in, int cin, size_t in_stride, const float *w, int k, float *out, size_t out_plane,  \
        size_t out_stride, int rows_out, int x_end) {                                                     \
        size_t in_rows = (size_t)rows_out + (size_t)k - 1;                                                \
        for (int r = 0; r < rows_out; r++) {                                                              \
            for (int x = 0; x + 8 * XB <= x_end; x += 8 * XB) {                                           \
                __m256 acc[COUT][XB];                                                                     \
                for (int co = 0; co < COUT; co++)                                                         \
                    for (int b = 0; b < XB; b++) acc[co][b] = _mm256_setzero_ps();                        \
                for (int ci = 0; ci < cin; ci++) {                                                        \
                    for (int ky = 0; ky < k; ky++) {                                                      \
                        const float *row = in + ((size_t)ci * in_rows + r + ky) * in_stride + x;          \
                        const float *wr = w + ((size_t)ci * k + ky) * k;                                  \
                        for (int kx = 0; kx < k; kx++) {                                                  \
                            __m256 v[XB];                                                                 \
                            for (int b = 0; b < XB; b++) v[b] = _mm256_loadu_ps(row + kx + 8 * b);        \
                            for (int co = 0; co < COUT; co++) {                                           \
                                __m256 wv = _mm256_broadcast_ss(wr + (size_t)co * cin * k * k + kx);      \
                                for (int b = 0; b < XB; b++) acc[co][b] = _mm256_fmadd_ps(wv, v[b], acc[co][b]); \
                            }                                                                             \
                        }                                                                                 \
                    }                                                                                     \
                }                                                                                         \
                for (int co = 0; co < COUT; co++) {                                                       \
                    float *o = out + (size_t)co * out_plane + (size_t)r * out_stride + x;                 \
                    for (int b = 0; b < XB; b++)                                                          \
                        _mm256_storeu_ps(o + 8 * b, _mm256_add_ps(_mm256_loadu_ps(o + 8 * b), acc[co][b])); \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

DEFINE_KERNEL(1, 4)
DEFINE_KERNEL(2, 4)
DEFINE_KERNEL(3, 4)
DEFINE_KERNEL(4, 3)
DEFINE_KERNEL(5, 2)
DEFINE_KERNEL(6, 2)
DEFINE_KERNEL(7, 1)
DEFINE_KERNEL(8, 1)

typedef void (*kernel_fn)(const float *, int, size_t, const float *, int, float *, size_t, size_t, int, int);
static const kernel_fn kernels[9] = {0, conv_c1_x4, conv_c2_x4, conv_c3_x4, conv_c4_x3,
                                     conv_c5_x2, conv_c6_x2, conv_c7_x1, conv_c8_x1};
static const int blocks[9] = {0, 4, 4, 4, 3, 2, 2, 1, 1};
#endif

int pk_conv_direct_simd(void) {
#ifdef PK_X86
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
#else
    return 0;
#endif
}

void pk_conv_direct(const float *in, int cin, size_t in_stride, const float *w, int cout, int k,
                    float *out, size_t out_plane, size_t out_stride, int rows_out, int wout) {
    int done = 0;
#ifdef PK_X86
    if (cout >= 1 && cout <= 8 && pk_conv_direct_simd()) {
        int step = 8 * blocks[cout];
        done = wout / step * step;
        if (done > 0) kernels[cout](in, cin, in_stride, w, k, out, out_plane, out_stride, rows_out, done);
    }
#endif
    if (done < wout)
        conv_direct_scalar(in, cin, in_stride, w, cout, k, out, out_plane, out_stride, rows_out, done, wout);
}
