// De-interleaving 16 consecutive floats into the 8 at even or odd offsets (AVX2): the stride-2
// depthwise kernel and the stride-2 unfolding share it. Internal to CPasticheKernels.

#ifndef PASTICHE_LANES_H
#define PASTICHE_LANES_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Lanes 0, 2, ..., 14 of the 16 floats at p (even) or 1, 3, ..., 15 (odd): one in-lane shuffle,
// one lane permute.
__attribute__((target("avx2,fma"))) static inline __m256 even_lanes(const float *p) {
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
__attribute__((target("avx2,fma"))) static inline __m256 odd_lanes(const float *p) {
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 t = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
#endif

#endif
