#include "pastiche_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

/* Elements summed in float before the block's sums are added into double: short enough that
 * float rounding stays ~1e-7 relative, long enough that the double adds cost nothing. */
#define PK_MOMENT_BLOCK 2048

static void moments_scalar(const float *x, size_t n, float shift, double *sum, double *sumsq) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - shift;
        s += d;
        s2 += d * d;
    }
    *sum += s;
    *sumsq += s2;
}

#ifdef PK_X86
__attribute__((target("avx2,fma"))) static float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static void moments_avx2(const float *x, size_t n, float shift, double *sum,
                                                             double *sumsq) {
    __m256 k = _mm256_set1_ps(shift);
    size_t i = 0;
    while (i + 32 <= n) {
        size_t end = i + PK_MOMENT_BLOCK <= n ? i + PK_MOMENT_BLOCK : n;
        /* Four independent chains each so the adds do not wait on one another. */
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
        for (; i + 32 <= end; i += 32) {
            __m256 a = _mm256_sub_ps(_mm256_loadu_ps(x + i), k), b = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), k);
            __m256 c = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), k), d = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), k);
            s0 = _mm256_add_ps(s0, a); q0 = _mm256_fmadd_ps(a, a, q0);
            s1 = _mm256_add_ps(s1, b); q1 = _mm256_fmadd_ps(b, b, q1);
            s2 = _mm256_add_ps(s2, c); q2 = _mm256_fmadd_ps(c, c, q2);
            s3 = _mm256_add_ps(s3, d); q3 = _mm256_fmadd_ps(d, d, q3);
        }
        *sum += hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
        *sumsq += hsum(_mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3)));
    }
    moments_scalar(x + i, n - i, shift, sum, sumsq);
}
#endif

void pk_moments(const float *x, size_t n, float shift, double *sum, double *sumsq) {
    *sum = 0;
    *sumsq = 0;
#ifdef PK_X86
    if (pk_simd_available()) {
        moments_avx2(x, n, shift, sum, sumsq);
        return;
    }
#endif
    moments_scalar(x, n, shift, sum, sumsq);
}

static void weighted_moments_scalar(const float *x, const float *w, size_t n, float shift, double *weight,
                                    double *sum, double *sumsq) {
    double s0 = 0, s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - shift, wi = w[i];
        s0 += wi;
        s += wi * d;
        s2 += wi * d * d;
    }
    *weight += s0;
    *sum += s;
    *sumsq += s2;
}

#ifdef PK_X86
__attribute__((target("avx2,fma"))) static void weighted_moments_avx2(const float *x, const float *w, size_t n,
                                                                      float shift, double *weight, double *sum,
                                                                      double *sumsq) {
    __m256 k = _mm256_set1_ps(shift);
    size_t i = 0;
    while (i + 16 <= n) {
        size_t end = i + PK_MOMENT_BLOCK <= n ? i + PK_MOMENT_BLOCK : n;
        __m256 w0 = _mm256_setzero_ps(), w1 = w0, s0 = w0, s1 = w0, q0 = w0, q1 = w0;
        for (; i + 16 <= end; i += 16) {
            __m256 a = _mm256_sub_ps(_mm256_loadu_ps(x + i), k), b = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), k);
            __m256 wa = _mm256_loadu_ps(w + i), wb = _mm256_loadu_ps(w + i + 8);
            __m256 pa = _mm256_mul_ps(wa, a), pb = _mm256_mul_ps(wb, b);
            w0 = _mm256_add_ps(w0, wa); w1 = _mm256_add_ps(w1, wb);
            s0 = _mm256_add_ps(s0, pa); s1 = _mm256_add_ps(s1, pb);
            q0 = _mm256_fmadd_ps(pa, a, q0); q1 = _mm256_fmadd_ps(pb, b, q1);
        }
        *weight += hsum(_mm256_add_ps(w0, w1));
        *sum += hsum(_mm256_add_ps(s0, s1));
        *sumsq += hsum(_mm256_add_ps(q0, q1));
    }
    weighted_moments_scalar(x + i, w + i, n - i, shift, weight, sum, sumsq);
}
#endif

void pk_weighted_moments(const float *x, const float *w, size_t n, float shift, double *weight, double *sum,
                         double *sumsq) {
    *weight = 0;
    *sum = 0;
    *sumsq = 0;
#ifdef PK_X86
    if (pk_simd_available()) {
        weighted_moments_avx2(x, w, n, shift, weight, sum, sumsq);
        return;
    }
#endif
    weighted_moments_scalar(x, w, n, shift, weight, sum, sumsq);
}

void pk_scale_shift(float *x, size_t n, float scale, float shift, int relu, const float *residual) {
    /* Plain loops: the compiler vectorises these (no reductions). */
    if (relu) {
        if (residual) {
            for (size_t i = 0; i < n; i++) { float v = x[i] * scale + shift; x[i] = (v > 0 ? v : 0) + residual[i]; }
        } else {
            for (size_t i = 0; i < n; i++) { float v = x[i] * scale + shift; x[i] = v > 0 ? v : 0; }
        }
    } else if (residual) {
        for (size_t i = 0; i < n; i++) x[i] = x[i] * scale + shift + residual[i];
    } else {
        for (size_t i = 0; i < n; i++) x[i] = x[i] * scale + shift;
    }
}

/* Regions are mixed block by block: the per-pixel scale and shift of a block are summed in two
 * small arrays (vectorised loops over pixels, one region at a time), then applied as in
 * pk_scale_shift. */
#define PK_REGION_BLOCK 256

void pk_scale_shift_regions(float *x, size_t n, size_t k, const float *const *weight, const float *scale,
                            const float *shift, int relu, const float *residual) {
    float s[PK_REGION_BLOCK], t[PK_REGION_BLOCK];
    for (size_t lo = 0; lo < n; lo += PK_REGION_BLOCK) {
        size_t m = n - lo < PK_REGION_BLOCK ? n - lo : PK_REGION_BLOCK;
        const float *w0 = weight[0] + lo;
        for (size_t i = 0; i < m; i++) { s[i] = w0[i] * scale[0]; t[i] = w0[i] * shift[0]; }
        for (size_t r = 1; r < k; r++) {
            const float *w = weight[r] + lo;
            float a = scale[r], b = shift[r];
            for (size_t i = 0; i < m; i++) { s[i] += w[i] * a; t[i] += w[i] * b; }
        }
        float *y = x + lo;
        const float *res = residual ? residual + lo : 0;
        if (relu) {
            if (res) {
                for (size_t i = 0; i < m; i++) { float v = y[i] * s[i] + t[i]; y[i] = (v > 0 ? v : 0) + res[i]; }
            } else {
                for (size_t i = 0; i < m; i++) { float v = y[i] * s[i] + t[i]; y[i] = v > 0 ? v : 0; }
            }
        } else if (res) {
            for (size_t i = 0; i < m; i++) y[i] = y[i] * s[i] + t[i] + res[i];
        } else {
            for (size_t i = 0; i < m; i++) y[i] = y[i] * s[i] + t[i];
        }
    }
}
