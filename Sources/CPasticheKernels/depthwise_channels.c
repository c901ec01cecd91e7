// 3x3 depthwise convolution of many channels in one call (MobileNetV2's depthwise layers on a
// band or a whole small plane), each channel's rows first copied into a zero-bordered buffer
// that stays in L1; at stride 2 the copy also splits each row into its even and odd columns.
// Every tap is then a plain load the FMA takes as its operand, leaving the nine weights, the
// bias and the clamp in registers. The unpadded kernel (depthwise.c), with masked loads at the
// row ends, missing rows skipped and (stride 2) three shuffles per tap row, runs out of
// registers (docs/performance-log.md, seventh session). The sums are the
// unpadded kernel's, in its order (bias + the top row's three taps, the middle and bottom
// rows' each from zero, then added), so the outputs are the same bits.

#include "pastiche_kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

// Stride 1: a padded row is [8 zeros][w inputs][8 zeros], the input at column LEFT (aligned
// copies), so columns LEFT-1 and LEFT+w read zero. Stride 2: [ow + 8 even columns][ow + 8 odd
// columns], even column ow (input column w, the "SAME" padding) and after it zero.
#define LEFT 8
static size_t padded_width(int ow, int stride) { return stride == 1 ? (size_t)ow + 2 * LEFT : 2 * ((size_t)ow + 8); }
static int padded_rows(int oh, int stride) { return (oh - 1) * stride + 3; }

/* + 8: the buffer is aligned to 32 bytes inside the scratch. */
size_t pk_depthwise3x3_channels_scratch(int oh, int ow, int stride) {
    return (size_t)padded_rows(oh, stride) * padded_width(ow, stride) + 8;
}

#ifdef PK_X86
// One output vector: the three taps of each input row (left, centre, right: l, c, r).
#define TAPS(l0, c0, r0, l1, c1, r1, l2, c2, r2)                                  \
    __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(l0), k0, vb);                    \
    __m256 m = _mm256_fmadd_ps(_mm256_loadu_ps(l1), k3, zero);                  \
    __m256 b = _mm256_fmadd_ps(_mm256_loadu_ps(l2), k6, zero);                  \
    t = _mm256_fmadd_ps(_mm256_loadu_ps(c0), k1, t);                            \
    m = _mm256_fmadd_ps(_mm256_loadu_ps(c1), k4, m);                            \
    b = _mm256_fmadd_ps(_mm256_loadu_ps(c2), k7, b);                            \
    t = _mm256_fmadd_ps(_mm256_loadu_ps(r0), k2, t);                            \
    m = _mm256_fmadd_ps(_mm256_loadu_ps(r1), k5, m);                            \
    b = _mm256_fmadd_ps(_mm256_loadu_ps(r2), k8, b);                            \
    __m256 acc = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(_mm256_add_ps(t, m), b), lo), hi)

__attribute__((target("avx2,fma"))) static void channel(const float *p, size_t pw, int stride, const float *k,
                                                        float bias, float *out, size_t ps, int oh, int ow, __m256 lo,
                                                        __m256 hi) {
    const __m256 k0 = _mm256_set1_ps(k[0]), k1 = _mm256_set1_ps(k[1]), k2 = _mm256_set1_ps(k[2]);
    const __m256 k3 = _mm256_set1_ps(k[3]), k4 = _mm256_set1_ps(k[4]), k5 = _mm256_set1_ps(k[5]);
    const __m256 k6 = _mm256_set1_ps(k[6]), k7 = _mm256_set1_ps(k[7]), k8 = _mm256_set1_ps(k[8]);
    const __m256 vb = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
    for (int y = 0; y < oh; y++) {
        const float *r0 = p + (size_t)y * stride * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        for (int x = 0; x < ow; x += 8) {
            size_t q = (size_t)y * ow + x;
            float *o = ps ? out + (q >> 4) * ps + (q & 15) : out + q;
            if (stride == 1) {
                const float *a = r0 + LEFT + x, *c = r1 + LEFT + x, *e = r2 + LEFT + x;
                TAPS(a - 1, a, a + 1, c - 1, c, c + 1, e - 1, e, e + 1);
                _mm256_storeu_ps(o, acc);
            } else { /* even columns 2x at [x], odd 2x+1 at [odd + x], 2x+2 at [x + 1] */
                const size_t odd = (size_t)ow + 8;
                const float *a = r0 + x, *c = r1 + x, *e = r2 + x;
                TAPS(a, a + odd, a + 1, c, c + odd, c + 1, e, e + odd, e + 1);
                _mm256_storeu_ps(o, acc);
            }
        }
    }
}

// Input rows [first, last) of one channel into padded rows (padded row r = input row r - pad_top).
__attribute__((target("avx2,fma"))) static void copy_rows(const float *in, int w, int stride, int pad_top, int first,
                                                          int last, float *p, size_t pw) {
    for (int r = first; r < last; r++) {
        const float *src = in + (size_t)(r - pad_top) * w;
        float *dst = p + (size_t)r * pw;
        if (stride == 1) {
            for (int x = 0; x < w; x += 8) _mm256_store_ps(dst + LEFT + x, _mm256_loadu_ps(src + x));
        } else {
            float *odd = dst + w / 2 + 8;
            for (int x = 0; x < w; x += 16) {
                __m256 a = _mm256_loadu_ps(src + x), b = _mm256_loadu_ps(src + x + 8);
                /* [a0 a2 b0 b2 | a4 a6 b4 b6] -> 64-bit lanes 0 2 1 3 -> a0 a2 a4 a6 b0 b2 b4 b6 */
                __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
                __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
                e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
                o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
                _mm256_store_ps(dst + x / 2, e);
                _mm256_store_ps(odd + x / 2, o);
            }
        }
    }
}

__attribute__((target("avx2,fma"))) static void channels_avx2(const float *in, size_t channel_stride, int count, int h,
                                                              int w, const float *k, const float *bias, int stride,
                                                              int pad_top, float *out, size_t out_stride,
                                                              size_t panel_stride, int oh, int ow, float lo, float hi,
                                                              float *scratch) {
    // Rows outside [0, h) and the border columns are zero for every channel, so they are
    // written once; each channel copies rows [first, last).
    const size_t pw = padded_width(ow, stride);
    float *p = (float *)(((uintptr_t)scratch + 31) & ~(uintptr_t)31);
    const int rows = padded_rows(oh, stride), first = pad_top > 0 ? pad_top : 0;
    const int last = h + pad_top < rows ? h + pad_top : rows;
    memset(p, 0, (size_t)rows * pw * sizeof(float));
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int c = 0; c < count; c++) {
        copy_rows(in + (size_t)c * channel_stride, w, stride, pad_top, first, last, p, pw);
        channel(p, pw, stride, k + 9 * c, bias[c], out + (panel_stride ? 16 * (size_t)c : (size_t)c * out_stride),
                panel_stride, oh, ow, vlo, vhi);
    }
}
#endif

void pk_depthwise3x3_channels(const float *in, size_t channel_stride, int count, int h, int w, const float *k,
                              const float *bias, int stride, int pad_top, int pad_left, float *out, size_t out_stride,
                              size_t panel_stride, int oh, int ow, float lo, float hi, float *scratch) {
#ifdef PK_X86
    if (count > 0 && pk_depthwise3x3_channels_supported(w, stride, pad_left, oh, ow, panel_stride != 0))
        channels_avx2(in, channel_stride, count, h, w, k, bias, stride, pad_top, out, out_stride, panel_stride, oh,
                      ow, lo, hi, scratch);
#else
    (void)in, (void)channel_stride, (void)count, (void)h, (void)w, (void)k, (void)bias, (void)stride, (void)pad_top;
    (void)pad_left, (void)out, (void)out_stride, (void)panel_stride, (void)oh, (void)ow, (void)lo, (void)hi;
    (void)scratch;
#endif
}
