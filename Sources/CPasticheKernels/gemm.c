#include "pastiche_kernels.h"

/*
 * C = clamp(A . B + bias, lo, hi) (+ residual) with a register-blocked kernel: the 16 small
 * products of the Winograd convolution and the 1x1 convolutions of MobileNetV2 (expand and
 * project). Those are skinny (Cin 16..960, Cout 16..1280, 64..16384 columns); OpenBLAS packs
 * both operands for each call and then needs separate passes for the bias and the activation,
 * which at these sizes costs as much as the products. Here A is read in place or from a copy
 * packed once (pk_gemm_pack_a: weights), B is copied into contiguous panels once per L2-sized
 * chunk (or read in place when the caller gives no room, or comes in panels from its
 * producer), and each output block is written once, finished.
 */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

typedef struct {
    const float *bias; /* [m] or NULL */
    float lo, hi;      /* clamp, skipped when clamp == 0 */
    int clamp;
    const float *residual; /* [m][ldr] or NULL, added last */
    size_t ldr;
} epilogue;

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Where B[j][x] lies in 16-column panels of k x 16 floats (panel x/16, row j, lane x%16). */
static inline size_t panel_index(int k, int j, int x) { return ((size_t)(x / 16) * k + j) * 16 + x % 16; }

/* B[j][x] in place (ldb > 0) or in panels (ldb == 0). */
static inline float b_at(const float *b, size_t ldb, int k, int j, int x) {
    return ldb ? b[(size_t)j * ldb + x] : b[panel_index(k, j, x)];
}

static void gemm_scalar(const float *a, size_t rs, size_t ks, int m, int k, const float *b, size_t ldb, float *c,
                        size_t ldc, int x0, int x1, const epilogue *e) {
    for (int i = 0; i < m; i++)
        for (int x = x0; x < x1; x++) {
            float acc = e->bias ? e->bias[i] : 0.f;
            for (int j = 0; j < k; j++) acc += a[(size_t)i * rs + (size_t)j * ks] * b_at(b, ldb, k, j, x);
            if (e->clamp) acc = clampf(acc, e->lo, e->hi);
            if (e->residual) acc += e->residual[(size_t)i * e->ldr + x];
            c[(size_t)i * ldc + x] = acc;
        }
}

#ifdef PK_X86
/* ROWS rows x XB vectors of 8 columns: ROWS*XB accumulators (at most 12 of the 16 ymm
 * registers); the k loop stays rolled (clang spills the accumulators of an unrolled one, as in
 * conv_direct.c). A[i][j] is a[i*rs + j*ks]: rs = lda, ks = 1 in place; rs = 1, ks = ROWS
 * packed (pk_gemm_pack_a). Columns [x0, x1) in blocks of 8*XB, the last block moved left so no
 * column needs a scalar tail (x1 - x0 >= 8*XB; recomputed columns get the same values). Block
 * number p reads B at b + p*step when packed (step k*8*XB, ldb 8*XB), at b + x in place (step 0). */
#define DEFINE_GEMM(ROWS, XB)                                                                                \
    __attribute__((target("avx2,fma"))) static void gemm_r##ROWS##_x##XB(                                   \
        const float *a, size_t rs, size_t ks, int k, const float *b, size_t step, size_t ldb, float *c,        \
        size_t ldc, int x0, int x1, const epilogue *e) {                                                     \
        __m256 bias[ROWS];                                                                                   \
        for (int i = 0; i < ROWS; i++) bias[i] = _mm256_set1_ps(e->bias ? e->bias[i] : 0.f);                 \
        const __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);                                 \
        for (int xb = x0, p = 0; xb < x1; xb += 8 * XB, p++) {                                               \
            int x = xb + 8 * XB <= x1 ? xb : x1 - 8 * XB;                                                    \
            __m256 acc[ROWS][XB];                                                                            \
            for (int i = 0; i < ROWS; i++)                                                                   \
                for (int v = 0; v < XB; v++) acc[i][v] = bias[i];                                            \
            const float *bp = step ? b + p * step : b + x;                                                   \
            const float *ap = a;                                                                             \
            _Pragma("clang loop unroll(disable)") for (int j = 0; j < k; j++, bp += ldb, ap += ks) {         \
                __m256 col[XB];                                                                              \
                for (int v = 0; v < XB; v++) col[v] = _mm256_loadu_ps(bp + 8 * v);                           \
                for (int i = 0; i < ROWS; i++) {                                                             \
                    __m256 w = _mm256_broadcast_ss(ap + (size_t)i * rs);                                     \
                    for (int v = 0; v < XB; v++) acc[i][v] = _mm256_fmadd_ps(w, col[v], acc[i][v]);          \
                }                                                                                            \
            }                                                                                                \
            for (int i = 0; i < ROWS; i++)                                                                   \
                for (int v = 0; v < XB; v++) {                                                               \
                    __m256 r = acc[i][v];                                                                    \
                    if (e->clamp) r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);                               \
                    if (e->residual)                                                                         \
                        r = _mm256_add_ps(r, _mm256_loadu_ps(e->residual + (size_t)i * e->ldr + x + 8 * v)); \
                    _mm256_storeu_ps(c + (size_t)i * ldc + x + 8 * v, r);                                    \
                }                                                                                            \
        }                                                                                                    \
    }
DEFINE_GEMM(1, 2) DEFINE_GEMM(2, 2) DEFINE_GEMM(3, 2) DEFINE_GEMM(4, 2) DEFINE_GEMM(5, 2) DEFINE_GEMM(6, 2)
DEFINE_GEMM(1, 1) DEFINE_GEMM(2, 1) DEFINE_GEMM(3, 1) DEFINE_GEMM(4, 1) DEFINE_GEMM(5, 1) DEFINE_GEMM(6, 1)
typedef void (*gemm_fn)(const float *, size_t, size_t, int, const float *, size_t, size_t, float *, size_t, int,
                        int, const epilogue *);
static const gemm_fn gemm_wide[7] = {0, gemm_r1_x2, gemm_r2_x2, gemm_r3_x2, gemm_r4_x2, gemm_r5_x2, gemm_r6_x2};
static const gemm_fn gemm_narrow[7] = {0, gemm_r1_x1, gemm_r2_x1, gemm_r3_x1, gemm_r4_x1, gemm_r5_x1, gemm_r6_x1};

/* Copies the 16-column blocks of B's columns [x0, x1) (last block moved left) into panels of
 * k x 16 contiguous floats: rows of B that lie a power of two apart (a 128x128 plane is 64 KB)
 * all fall into one cache set and evict each other, a contiguous panel streams. */
__attribute__((target("avx2,fma"))) static void pack_panels(const float *b, size_t ldb, int k, int x0, int x1,
                                                            float *pack) {
    for (int xb = x0; xb < x1; xb += 16) {
        int x = xb + 16 <= x1 ? xb : x1 - 16;
        const float *src = b + x;
        for (int j = 0; j < k; j++, src += ldb, pack += 16) {
            _mm256_storeu_ps(pack, _mm256_loadu_ps(src));
            _mm256_storeu_ps(pack + 8, _mm256_loadu_ps(src + 8));
        }
    }
}
#endif

/* Columns per chunk: B's chunk (k x chunk floats) stays in L2 while every row pass reads it. */
#define CHUNK_FLOATS (32 * 1024)

static int chunk_columns(int k) {
    int chunk = CHUNK_FLOATS / (k > 0 ? k : 1) / 16 * 16;
    return chunk < 64 ? 64 : chunk;
}

size_t pk_gemm_scratch(int k) { return (size_t)(k > 0 ? k : 1) * (chunk_columns(k) + 16); }

/* Rows in even passes of at most 6 (32 = 6+6+5+5+5+5: no 2-row pass at a third the speed);
 * pass p of `passes` remaining starting at row i0 has pass_rows rows. */
static inline int pass_rows(int m, int i0, int passes) { return (m - i0 + passes - 1) / passes; }

void pk_gemm_pack_b(const float *b, size_t ldb, int k, int n, float *panels) {
#ifdef PK_X86
    if (pk_simd_available() && n % 16 == 0) {
        pack_panels(b, ldb, k, 0, n, panels);
        return;
    }
#endif
    for (int x = 0; x < n; x++)
        for (int j = 0; j < k; j++) panels[panel_index(k, j, x)] = b[(size_t)j * ldb + x];
}

void pk_gemm_pack_a(const float *a, size_t lda, int m, int k, float *packed) {
    for (int i0 = 0, passes = (m + 5) / 6; i0 < m; passes--) {
        int rows = pass_rows(m, i0, passes);
        for (int j = 0; j < k; j++)
            for (int r = 0; r < rows; r++) *packed++ = a[(size_t)(i0 + r) * lda + j];
        i0 += rows;
    }
}

void pk_gemm(const float *a, size_t lda, int m, int k, const float *b, size_t ldb, float *c, size_t ldc, int n,
             const float *bias, float lo, float hi, const float *residual, size_t ldr, float *scratch) {
    if (m <= 0 || n <= 0) return;
    const int a_packed = lda == 0, b_panels = ldb == 0;
    int simd = pk_simd_available();
    int chunk = chunk_columns(k);
    int clamp = lo > -__builtin_inff() || hi < __builtin_inff();
    for (int x0 = 0; x0 < n; x0 += chunk) {
        int x1 = x0 + chunk < n ? x0 + chunk : n;
        /* A chunk narrower than a block borrows columns from the one before (same values). */
        int left = x1 - x0 < 16 && x1 >= 16 ? x1 - 16 : x0;
        const float *bb = b;
        size_t step = 0, ld = ldb;
#ifdef PK_X86
        if (simd && b_panels) {
            bb = b + (size_t)x0 * k, step = (size_t)k * 16, ld = 16;
        } else if (simd && scratch && m > 6 && x1 - left >= 16) {
            /* Pack when the caller gives room and more than one row pass will read the panels. */
            pack_panels(b, ldb, k, left, x1, scratch);
            bb = scratch, step = (size_t)k * 16, ld = 16;
        }
#endif
        const float *ai = a;
        for (int i0 = 0, passes = (m + 5) / 6; i0 < m; passes--) {
            int rows = pass_rows(m, i0, passes);
            size_t rs = a_packed ? 1 : lda, ks = a_packed ? (size_t)rows : 1;
            epilogue e = {bias ? bias + i0 : 0, lo, hi, clamp, residual ? residual + (size_t)i0 * ldr : 0, ldr};
            float *ci = c + (size_t)i0 * ldc;
            int done = x0;
#ifdef PK_X86
            if (simd && (b_panels || x1 - left >= 16)) {
                gemm_wide[rows](ai, rs, ks, k, bb, step, ld, ci, ldc, b_panels ? x0 : left, x1, &e);
                done = x1;
            } else if (simd && x1 - x0 >= 8) {
                gemm_narrow[rows](ai, rs, ks, k, b, 0, ldb, ci, ldc, x0, x1, &e);
                done = x1;
            }
#endif
            if (done < x1) gemm_scalar(ai, rs, ks, rows, k, b, ldb, ci, ldc, done, x1, &e);
            ai += a_packed ? (size_t)rows * k : (size_t)rows * lda;
            i0 += rows;
        }
    }
}
