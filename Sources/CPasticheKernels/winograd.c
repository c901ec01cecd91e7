#include "pastiche_kernels.h"

/*
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016,
 * "Fast Algorithms for Convolutional Neural Networks"): each 2x2 output tile costs 16
 * products per (cin, cout) pair instead of 36. Transforms:
 *   V = B^T d B (d: 4x4 input tile),  U = G g G^T (g: 3x3 filter),  Y = A^T (U . V) A
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 *   A^T = [1 1 1 0; 0 1 -1 -1].
 * The 16 elementwise products summed over cin are 16 small matrix products
 * M[xi] (cout x T) = U[xi] (cout x cin) . V[xi] (cin x T), by pk_gemm (gemm.c).
 */

void pk_winograd3x3_weights(const float *w, int cout, int cin, float *u) {
    size_t pairs = (size_t)cout * cin;
    for (size_t p = 0; p < pairs; p++) {
        const float *g = w + p * 9;
        float t[4][3]; /* G g */
        for (int c = 0; c < 3; c++) {
            float g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
            t[0][c] = g0;
            t[1][c] = 0.5f * (g0 + g1 + g2);
            t[2][c] = 0.5f * (g0 - g1 + g2);
            t[3][c] = g2;
        }
        for (int r = 0; r < 4; r++) { /* (G g) G^T */
            float a = t[r][0], b = t[r][1], c = t[r][2];
            u[(size_t)(r * 4 + 0) * pairs + p] = a;
            u[(size_t)(r * 4 + 1) * pairs + p] = 0.5f * (a + b + c);
            u[(size_t)(r * 4 + 2) * pairs + p] = 0.5f * (a - b + c);
            u[(size_t)(r * 4 + 3) * pairs + p] = c;
        }
    }
}

size_t pk_winograd3x3_scratch(int cin, int cout, int tiles_y, int tiles_x) {
    size_t tiles = (size_t)tiles_y * tiles_x;
    return (size_t)16 * ((size_t)cin + (size_t)cout) * tiles + (2 * (size_t)tiles_y + 2) * 2 * ((size_t)tiles_x + 1);
}

/* B^T d B for one tile from the four rows' even (e) and odd (o) columns: tile tx reads columns
 * 2tx .. 2tx+3 = e[tx], o[tx], e[tx+1], o[tx+1]. Writes v[xi * xs] for xi = 4i + j. */
static inline void input_tile(const float *e0, const float *o0, const float *e1, const float *o1, const float *e2,
                              const float *o2, const float *e3, const float *o3, int tx, float *v, size_t xs) {
    float c0[4] = {e0[tx], o0[tx], e0[tx + 1], o0[tx + 1]};
    float c1[4] = {e1[tx], o1[tx], e1[tx + 1], o1[tx + 1]};
    float c2[4] = {e2[tx], o2[tx], e2[tx + 1], o2[tx + 1]};
    float c3[4] = {e3[tx], o3[tx], e3[tx + 1], o3[tx + 1]};
    float d[4][4];
    for (int j = 0; j < 4; j++) {
        d[0][j] = c0[j] - c2[j];
        d[1][j] = c1[j] + c2[j];
        d[2][j] = c2[j] - c1[j];
        d[3][j] = c1[j] - c3[j];
    }
    for (int i = 0; i < 4; i++) {
        v[(size_t)(4 * i + 0) * xs] = d[i][0] - d[i][2];
        v[(size_t)(4 * i + 1) * xs] = d[i][1] + d[i][2];
        v[(size_t)(4 * i + 2) * xs] = d[i][2] - d[i][1];
        v[(size_t)(4 * i + 3) * xs] = d[i][1] - d[i][3];
    }
}

/* A^T s A for one tile: s[k * ms] for k = 4i + j -> y00, y01, y10, y11. */
static inline void output_tile(const float *s, size_t ms, float *y) {
    float p0[4], p1[4];
    for (int j = 0; j < 4; j++) {
        float a = s[(size_t)j * ms], b = s[(size_t)(4 + j) * ms], c = s[(size_t)(8 + j) * ms], d = s[(size_t)(12 + j) * ms];
        p0[j] = a + b + c;
        p1[j] = b - c - d;
    }
    y[0] = p0[0] + p0[1] + p0[2];
    y[1] = p0[1] - p0[2] - p0[3];
    y[2] = p1[0] + p1[1] + p1[2];
    y[3] = p1[1] - p1[2] - p1[3];
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1

/* Eight tiles at once: the same arithmetic on vectors of tiles tx .. tx+7. */
__attribute__((target("avx2,fma"))) static void input_tiles8(const float *const e[4], const float *const o[4], int tx,
                                                             float *v, size_t xs) {
    __m256 c[4][4];
    for (int r = 0; r < 4; r++) {
        c[r][0] = _mm256_loadu_ps(e[r] + tx);
        c[r][1] = _mm256_loadu_ps(o[r] + tx);
        c[r][2] = _mm256_loadu_ps(e[r] + tx + 1);
        c[r][3] = _mm256_loadu_ps(o[r] + tx + 1);
    }
    for (int j = 0; j < 4; j++) {
        __m256 d0 = _mm256_sub_ps(c[0][j], c[2][j]), d1 = _mm256_add_ps(c[1][j], c[2][j]);
        __m256 d2 = _mm256_sub_ps(c[2][j], c[1][j]), d3 = _mm256_sub_ps(c[1][j], c[3][j]);
        c[0][j] = d0; c[1][j] = d1; c[2][j] = d2; c[3][j] = d3;
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(v + (size_t)(4 * i + 0) * xs, _mm256_sub_ps(c[i][0], c[i][2]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 1) * xs, _mm256_add_ps(c[i][1], c[i][2]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 2) * xs, _mm256_sub_ps(c[i][2], c[i][1]));
        _mm256_storeu_ps(v + (size_t)(4 * i + 3) * xs, _mm256_sub_ps(c[i][1], c[i][3]));
    }
}

/* Eight tiles to two output rows of 16 columns, plus bias. */
__attribute__((target("avx2,fma"))) static void output_tiles8(const float *s, size_t ms, float bias_value, float *row0,
                                                              float *row1) {
    __m256 bias = _mm256_set1_ps(bias_value);
    __m256 p0[4], p1[4];
    for (int j = 0; j < 4; j++) {
        __m256 a = _mm256_loadu_ps(s + (size_t)j * ms), b = _mm256_loadu_ps(s + (size_t)(4 + j) * ms);
        __m256 c = _mm256_loadu_ps(s + (size_t)(8 + j) * ms), d = _mm256_loadu_ps(s + (size_t)(12 + j) * ms);
        p0[j] = _mm256_add_ps(_mm256_add_ps(a, b), c);
        p1[j] = _mm256_sub_ps(_mm256_sub_ps(b, c), d);
    }
    __m256 *p[2] = {p0, p1};
    float *rows[2] = {row0, row1};
    for (int r = 0; r < 2; r++) {
        if (!rows[r]) continue;
        __m256 even = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(p[r][0], p[r][1]), p[r][2]), bias);
        __m256 odd = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(p[r][1], p[r][2]), p[r][3]), bias);
        /* Interleave: columns 2tx, 2tx+1 for the eight tiles. */
        __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
        _mm256_storeu_ps(rows[r], _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(rows[r] + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
}
#endif

void pk_winograd3x3(const float *in, int cin, size_t in_stride, int tiles_y, int tiles_x, const float *u, int cout,
                    const float *bias, float *out, size_t out_plane, size_t out_stride, int rows_out, int wout,
                    float *scratch) {
    size_t T = (size_t)tiles_y * tiles_x;
    size_t in_rows = 2 * (size_t)tiles_y + 2;
    size_t half = (size_t)tiles_x + 1; /* even / odd columns per row */
    float *v = scratch;                        /* [16][cin][T] */
    float *m = scratch + 16 * (size_t)cin * T; /* [16][cout][T] */
    float *split = m + 16 * (size_t)cout * T;  /* [in_rows][2][half] */
    int simd = pk_simd_available();

    /* Input transform, one channel at a time: its rows split into even and odd columns so
     * that neighbouring tiles sit in neighbouring floats. */
    for (int ci = 0; ci < cin; ci++) {
        for (size_t r = 0; r < in_rows; r++) {
            const float *row = in + ((size_t)ci * in_rows + r) * in_stride;
            float *ev = split + r * 2 * half, *od = ev + half;
            for (size_t k = 0; k < half; k++) { ev[k] = row[2 * k]; od[k] = row[2 * k + 1]; }
        }
        size_t xs = (size_t)cin * T;
        for (int ty = 0; ty < tiles_y; ty++) {
            const float *e[4], *o[4];
            for (int r = 0; r < 4; r++) {
                e[r] = split + (size_t)(2 * ty + r) * 2 * half;
                o[r] = e[r] + half;
            }
            float *dst = v + (size_t)ci * T + (size_t)ty * tiles_x;
            int tx = 0;
#ifdef PK_X86
            if (simd)
                for (; tx + 8 <= tiles_x; tx += 8) input_tiles8(e, o, tx, dst + tx, xs);
#endif
            for (; tx < tiles_x; tx++) input_tile(e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3], tx, dst + tx, xs);
        }
    }

    /* 16 products M[xi] (cout x T) = U[xi] (cout x cin) . V[xi] (cin x T). */
    for (int xi = 0; xi < 16; xi++)
        pk_gemm(u + (size_t)xi * cout * cin, cin, cout, cin, v + (size_t)xi * cin * T, T, m + (size_t)xi * cout * T, T,
                (int)T, 0, -__builtin_inff(), __builtin_inff(), 0, 0, 0);

    /* Output transform Y = A^T M A, plus bias, cropped to the band. */
    size_t ms = (size_t)cout * T;
    for (int co = 0; co < cout; co++) {
        float b = bias ? bias[co] : 0.f;
        for (int ty = 0; ty < tiles_y; ty++) {
            int oy = 2 * ty;
            float *o0 = out + (size_t)co * out_plane + (size_t)oy * out_stride;
            float *o1 = oy + 1 < rows_out ? o0 + out_stride : 0;
            const float *s = m + (size_t)co * T + (size_t)ty * tiles_x;
            int tx = 0;
#ifdef PK_X86
            if (simd) /* whole groups of eight tiles that end inside the row */
                for (; tx + 8 <= tiles_x && 2 * (tx + 8) <= wout; tx += 8)
                    output_tiles8(s + tx, ms, b, o0 + 2 * tx, o1 ? o1 + 2 * tx : 0);
#endif
            for (; tx < tiles_x; tx++) {
                float y[4];
                output_tile(s + tx, ms, y);
                int x = 2 * tx;
                o0[x] = y[0] + b;
                if (x + 1 < wout) o0[x + 1] = y[1] + b;
                if (o1) {
                    o1[x] = y[2] + b;
                    if (x + 1 < wout) o1[x + 1] = y[3] + b;
                }
            }
        }
    }
}
