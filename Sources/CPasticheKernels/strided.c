#include "pastiche_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* 8 outputs from 16 inputs: one in-lane shuffle, one lane permute. */
__attribute__((target("avx2,fma"))) static long even_avx2(float *dst, const float *src, long n) {
    long j = 0;
    for (; j + 8 <= n && 2 * j + 16 <= 2 * n - 1; j += 8) {
        __m256 a = _mm256_loadu_ps(src + 2 * j), b = _mm256_loadu_ps(src + 2 * j + 8);
        __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        _mm256_storeu_ps(dst + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0))));
    }
    return j;
}
#endif

void pk_gather_even(float *dst, const float *src, long n) {
    long j = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (pk_simd_available()) j = even_avx2(dst, src, n);
#endif
    for (; j < n; j++) dst[j] = src[2 * j];
}
