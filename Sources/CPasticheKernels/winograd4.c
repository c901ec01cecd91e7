#include "pastiche_kernels.h"

/*
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray 2016,
 * "Fast Algorithms for Convolutional Neural Networks", the interpolation points 0, +-1, +-2,
 * infinity): each 4x4 output tile costs 36 products per (cin, cout) pair instead of 144, against
 * F(2x2, 3x3)'s 16 per 2x2 tile (2.25 times fewer products than direct; this is 4 times fewer).
 * The transforms' larger constants cost accuracy: float32 errors grow to about 1e-6 of a
 * layer's largest value where F(2x2, 3x3) stays near 1e-7, so only callers that accept that
 * (VGG-19 in optimize and training) ask for it.
 *   V = B^T d B (d: 6x6 input tile),  U = G g G^T (g: 3x3 filter),  Y = A^T (U . V) A
 *   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
 *          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
 * The 36 elementwise products summed over cin are 36 matrix products
 * M[xi] (cout x T) = U[xi] (cout x cin) . V[xi] (cin x T), by pk_gemm (gemm.c).
 */

void pk_winograd4x4_weights(const float *w, int cout, int cin, float *u) {
    size_t pairs = (size_t)cout * cin;
    for (size_t p = 0; p < pairs; p++) {
        const float *g = w + p * 9;
        double t[6][3]; /* G g, in double so U carries no extra rounding */
        for (int c = 0; c < 3; c++) {
            double g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
            t[0][c] = g0 / 4;
            t[1][c] = -(g0 + g1 + g2) / 6;
            t[2][c] = -(g0 - g1 + g2) / 6;
            t[3][c] = g0 / 24 + g1 / 12 + g2 / 6;
            t[4][c] = g0 / 24 - g1 / 12 + g2 / 6;
            t[5][c] = g2;
        }
        for (int r = 0; r < 6; r++) { /* (G g) G^T */
            double a = t[r][0], b = t[r][1], c = t[r][2];
            double row[6] = {a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6, a / 24 - b / 12 + c / 6, c};
            for (int j = 0; j < 6; j++) u[(size_t)(r * 6 + j) * pairs + p] = (float)row[j];
        }
    }
}

size_t pk_winograd4x4_scratch(int cin, int cout, int tiles_y, int tiles_x) {
    size_t tiles = (size_t)tiles_y * tiles_x;
    return (size_t)36 * ((size_t)cin + (size_t)cout) * tiles + (4 * (size_t)tiles_y + 2) * 4 * ((size_t)tiles_x + 2);
}

/* B^T applied to six values (one column or one row of a tile). */
#define BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5) \
    do {                                                    \
        o0 = 4 * (d0) - 5 * (d2) + (d4);                    \
        o1 = -4 * ((d1) + (d2)) + (d3) + (d4);              \
        o2 = 4 * ((d1) - (d2)) - (d3) + (d4);               \
        o3 = 2 * ((d3) - (d1)) - (d2) + (d4);               \
        o4 = 2 * ((d1) - (d3)) - (d2) + (d4);               \
        o5 = 4 * (d1) - 5 * (d3) + (d5);                    \
    } while (0)

/* One tile from the six rows' phase arrays (columns 4k + q in ph[r][q][k]): tile tx reads columns
 * 4tx .. 4tx+5 = ph[.][0..3][tx], ph[.][0..1][tx+1]. Writes v[xi * xs] for xi = 6i + j. */
static inline void input_tile4(const float *const ph[6][4], int tx, float *v, size_t xs) {
    float d[6][6], t[6][6];
    for (int r = 0; r < 6; r++) {
        d[r][0] = ph[r][0][tx]; d[r][1] = ph[r][1][tx]; d[r][2] = ph[r][2][tx];
        d[r][3] = ph[r][3][tx]; d[r][4] = ph[r][0][tx + 1]; d[r][5] = ph[r][1][tx + 1];
    }
    for (int j = 0; j < 6; j++)
        BT6(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]);
    for (int i = 0; i < 6; i++) {
        float o[6];
        BT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o[0], o[1], o[2], o[3], o[4], o[5]);
        for (int j = 0; j < 6; j++) v[(size_t)(6 * i + j) * xs] = o[j];
    }
}

/* A^T applied to six values. */
#define AT6(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3) \
    do {                                            \
        y0 = (m0) + (m1) + (m2) + (m3) + (m4);      \
        y1 = (m1) - (m2) + 2 * ((m3) - (m4));       \
        y2 = (m1) + (m2) + 4 * ((m3) + (m4));       \
        y3 = (m1) - (m2) + 8 * ((m3) - (m4)) + (m5); \
    } while (0)

/* A^T s A for one tile: s[k * ms] for k = 6i + j -> y[4r + c]. */
static inline void output_tile4(const float *s, size_t ms, float *y) {
    float p[4][6];
    for (int j = 0; j < 6; j++) {
        float m[6];
        for (int i = 0; i < 6; i++) m[i] = s[(size_t)(6 * i + j) * ms];
        AT6(m[0], m[1], m[2], m[3], m[4], m[5], p[0][j], p[1][j], p[2][j], p[3][j]);
    }
    for (int r = 0; r < 4; r++) AT6(p[r][0], p[r][1], p[r][2], p[r][3], p[r][4], p[r][5], y[4 * r], y[4 * r + 1], y[4 * r + 2], y[4 * r + 3]);
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK4_X86 1

/* Eight tiles at once: the same arithmetic on vectors of tiles tx .. tx+7. */
__attribute__((target("avx2,fma"))) static void input_tiles4x8(const float *const ph[6][4], int tx, float *v, size_t xs) {
    __m256 d[6][6];
    for (int r = 0; r < 6; r++) {
        d[r][0] = _mm256_loadu_ps(ph[r][0] + tx); d[r][1] = _mm256_loadu_ps(ph[r][1] + tx);
        d[r][2] = _mm256_loadu_ps(ph[r][2] + tx); d[r][3] = _mm256_loadu_ps(ph[r][3] + tx);
        d[r][4] = _mm256_loadu_ps(ph[r][0] + tx + 1); d[r][5] = _mm256_loadu_ps(ph[r][1] + tx + 1);
    }
    const __m256 c2 = _mm256_set1_ps(2), c4 = _mm256_set1_ps(4), c5 = _mm256_set1_ps(5);
#define BT6V(a0, a1, a2, a3, a4, a5, o0, o1, o2, o3, o4, o5)                                                  \
    do {                                                                                                 \
        __m256 s13 = _mm256_sub_ps(a3, a1), s12 = _mm256_sub_ps(a1, a2), p12 = _mm256_add_ps(a1, a2);     \
        __m256 q = _mm256_sub_ps(a4, a2);                                                                \
        o0 = _mm256_add_ps(_mm256_fnmadd_ps(c5, a2, _mm256_mul_ps(c4, a0)), a4);                         \
        o1 = _mm256_add_ps(_mm256_fnmadd_ps(c4, p12, a3), a4);                                           \
        o2 = _mm256_sub_ps(_mm256_fmadd_ps(c4, s12, a4), a3);                                            \
        o3 = _mm256_fmadd_ps(c2, s13, q);                                                                \
        o4 = _mm256_fnmadd_ps(c2, s13, q);                                                               \
        o5 = _mm256_add_ps(_mm256_fnmadd_ps(c5, a3, _mm256_mul_ps(c4, a1)), a5);                         \
    } while (0)
    __m256 t[6][6];
    for (int j = 0; j < 6; j++)
        BT6V(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]);
    for (int i = 0; i < 6; i++) {
        __m256 o[6];
        BT6V(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], o[0], o[1], o[2], o[3], o[4], o[5]);
        for (int j = 0; j < 6; j++) _mm256_storeu_ps(v + (size_t)(6 * i + j) * xs, o[j]);
    }
#undef BT6V
}

/* Eight tiles to four output rows of 32 columns, plus bias. */
__attribute__((target("avx2,fma"))) static void output_tiles4x8(const float *s, size_t ms, float bias_value, float *const rows[4]) {
    const __m256 c2 = _mm256_set1_ps(2), c4 = _mm256_set1_ps(4), c8 = _mm256_set1_ps(8);
    const __m256 bias = _mm256_set1_ps(bias_value);
#define AT6V(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                   \
    do {                                                                                          \
        __m256 a = _mm256_add_ps(m1, m2), b = _mm256_sub_ps(m1, m2);                              \
        __m256 c = _mm256_add_ps(m3, m4), e = _mm256_sub_ps(m3, m4);                              \
        y0 = _mm256_add_ps(_mm256_add_ps(m0, a), c);                                              \
        y1 = _mm256_fmadd_ps(c2, e, b);                                                           \
        y2 = _mm256_fmadd_ps(c4, c, a);                                                           \
        y3 = _mm256_add_ps(_mm256_fmadd_ps(c8, e, b), m5);                                        \
    } while (0)
    __m256 p[4][6];
    for (int j = 0; j < 6; j++) {
        __m256 m[6];
        for (int i = 0; i < 6; i++) m[i] = _mm256_loadu_ps(s + (size_t)(6 * i + j) * ms);
        AT6V(m[0], m[1], m[2], m[3], m[4], m[5], p[0][j], p[1][j], p[2][j], p[3][j]);
    }
    for (int r = 0; r < 4; r++) {
        if (!rows[r]) continue;
        __m256 y[4];
        AT6V(p[r][0], p[r][1], p[r][2], p[r][3], p[r][4], p[r][5], y[0], y[1], y[2], y[3]);
        for (int c = 0; c < 4; c++) y[c] = _mm256_add_ps(y[c], bias);
        /* 4 x 8 (column in tile, tile) -> 8 tiles of 4 consecutive columns. */
        __m256 t0 = _mm256_unpacklo_ps(y[0], y[1]), t1 = _mm256_unpackhi_ps(y[0], y[1]);
        __m256 t2 = _mm256_unpacklo_ps(y[2], y[3]), t3 = _mm256_unpackhi_ps(y[2], y[3]);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        /* u0: tiles 0, 4; u1: tiles 1, 5; u2: tiles 2, 6; u3: tiles 3, 7 (128-bit halves). */
        float *out = rows[r];
        _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u1, 0x20));
        _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
        _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
        _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
    }
#undef AT6V
}
#endif

void pk_winograd4x4(const float *in, int cin, size_t in_stride, int tiles_y, int tiles_x, const float *u, int cout,
                    const float *bias, float *out, size_t out_plane, size_t out_stride, int rows_out, int wout,
                    float *scratch) {
    size_t T = (size_t)tiles_y * tiles_x;
    size_t in_rows = 4 * (size_t)tiles_y + 2;
    size_t quarter = (size_t)tiles_x + 2; /* columns 4k + q, per phase q */
    float *v = scratch;                        /* [36][cin][T] */
    float *m = scratch + 36 * (size_t)cin * T; /* [36][cout][T] */
    float *split = m + 36 * (size_t)cout * T;  /* [in_rows][4][quarter] */
    int simd = pk_simd_available();

    /* Input transform, one channel at a time: its rows split into four phases (columns 4k + q)
     * so that neighbouring tiles sit in neighbouring floats. */
    for (int ci = 0; ci < cin; ci++) {
        size_t cols = 4 * (size_t)tiles_x + 2;
        for (size_t r = 0; r < in_rows; r++) {
            const float *row = in + ((size_t)ci * in_rows + r) * in_stride;
            float *ph = split + r * 4 * quarter;
            for (size_t k = 0; k < cols; k++) ph[(k & 3) * quarter + (k >> 2)] = row[k];
        }
        size_t xs = (size_t)cin * T;
        for (int ty = 0; ty < tiles_y; ty++) {
            const float *ph[6][4];
            for (int r = 0; r < 6; r++)
                for (int q = 0; q < 4; q++) ph[r][q] = split + ((size_t)(4 * ty + r) * 4 + q) * quarter;
            float *dst = v + (size_t)ci * T + (size_t)ty * tiles_x;
            int tx = 0;
#ifdef PK4_X86
            if (simd)
                for (; tx + 8 <= tiles_x; tx += 8) input_tiles4x8(ph, tx, dst + tx, xs);
#endif
            for (; tx < tiles_x; tx++) input_tile4(ph, tx, dst + tx, xs);
        }
    }

    /* 36 products M[xi] (cout x T) = U[xi] (cout x cin) . V[xi] (cin x T). */
    for (int xi = 0; xi < 36; xi++)
        pk_gemm(u + (size_t)xi * cout * cin, cin, cout, cin, v + (size_t)xi * cin * T, T, m + (size_t)xi * cout * T, T,
                (int)T, 0, -__builtin_inff(), __builtin_inff(), 0, 0, 0);

    /* Output transform Y = A^T M A, plus bias, cropped to the band. */
    size_t ms = (size_t)cout * T;
    for (int co = 0; co < cout; co++) {
        float b = bias ? bias[co] : 0.f;
        for (int ty = 0; ty < tiles_y; ty++) {
            int oy = 4 * ty;
            float *rows[4];
            for (int r = 0; r < 4; r++)
                rows[r] = oy + r < rows_out ? out + (size_t)co * out_plane + (size_t)(oy + r) * out_stride : 0;
            const float *s = m + (size_t)co * T + (size_t)ty * tiles_x;
            int tx = 0;
#ifdef PK4_X86
            if (simd) /* whole groups of eight tiles that end inside the row */
                for (; tx + 8 <= tiles_x && 4 * (tx + 8) <= wout; tx += 8) {
                    float *shifted[4];
                    for (int r = 0; r < 4; r++) shifted[r] = rows[r] ? rows[r] + 4 * tx : 0;
                    output_tiles4x8(s + tx, ms, b, shifted);
                }
#endif
            for (; tx < tiles_x; tx++) {
                float y[16];
                output_tile4(s + tx, ms, y);
                int x = 4 * tx;
                for (int r = 0; r < 4; r++) {
                    if (!rows[r]) continue;
                    for (int c = 0; c < 4 && x + c < wout; c++) rows[r][x + c] = y[4 * r + c] + b;
                }
            }
        }
    }
}
