#include "pastiche_kernels.h"
#include "lanes.h"

#if defined(__x86_64__) || defined(__i386__)
/* Whole vectors; returns the first index left. A vector reads src[2j ... 2j+15], and the last
 * index allowed is 2n-2. */
__attribute__((target("avx2,fma"))) static long even_avx2(float *dst, const float *src, long n) {
    long j = 0;
    for (; 2 * j + 17 <= 2 * n; j += 8) _mm256_storeu_ps(dst + j, even_lanes(src + 2 * j));
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
