// 3x3 depthwise convolution of one channel plane (MobileNetV2's depthwise layers), with the
// bias and a clamp (ReLU6) fused in. AVX2+FMA computes 8 outputs per step: straight from the
// input for MobileNetV2's paddings (one zero column each side at stride 1, TF "SAME" at stride
// 2, widths a multiple of 8), from a zero-padded copy of the plane otherwise (no bounds checks
// in the inner loops); portable C without AVX2.

#include "pastiche_kernels.h"
#include "lanes.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PK_X86 1
#endif

// Slack columns after the padded row: the vector loops may read up to 18 floats past the
// last output's window (stride 2: two 8-wide loads from 2*x + 2).
#define SLACK 24

static size_t padded_width(int ow, int stride) { return (size_t)(ow - 1) * stride + 3 + SLACK; }
static size_t padded_rows(int oh, int stride) { return (size_t)(oh - 1) * stride + 3; }

size_t pk_depthwise3x3_scratch(int oh, int ow, int stride) {
    return padded_rows(oh, stride) * padded_width(ow, stride);
}

// Zero-padded copy: padded row r holds input row r - pad_top, shifted right by pad_left.
static void pad_plane(const float *in, int h, int w, int pad_top, int pad_left, float *p, size_t prows, size_t pw) {
    for (size_t r = 0; r < prows; r++) {
        float *row = p + r * pw;
        long src = (long)r - pad_top;
        if (src < 0 || src >= h) {
            memset(row, 0, pw * sizeof(float));
            continue;
        }
        // Columns [pad_left, pad_left + w) are the input (clipped to the padded width).
        long copy = (long)w;
        if (pad_left + copy > (long)pw) copy = (long)pw - pad_left;
        memset(row, 0, (size_t)pad_left * sizeof(float));
        memcpy(row + pad_left, in + src * w, (size_t)copy * sizeof(float));
        memset(row + pad_left + copy, 0, (pw - pad_left - (size_t)copy) * sizeof(float));
    }
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void rows_scalar(const float *p, size_t pw, const float *k, float bias, int stride, float *out, int oh, int ow,
                        int x0, float lo, float hi) {
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = p + (size_t)oy * stride * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        for (int ox = x0; ox < ow; ox++) {
            int j = ox * stride;
            float acc = bias + r0[j] * k[0] + r0[j + 1] * k[1] + r0[j + 2] * k[2];
            acc += r1[j] * k[3] + r1[j + 1] * k[4] + r1[j + 2] * k[5];
            acc += r2[j] * k[6] + r2[j + 1] * k[7] + r2[j + 2] * k[8];
            out[(size_t)oy * ow + ox] = clampf(acc, lo, hi);
        }
    }
}

#ifdef PK_X86
__attribute__((target("avx2,fma"))) static void rows_avx2(const float *p, size_t pw, const float *k, float bias,
                                                          int stride, float *out, int oh, int ow, float lo,
                                                          float hi) {
    const __m256 k0 = _mm256_set1_ps(k[0]), k1 = _mm256_set1_ps(k[1]), k2 = _mm256_set1_ps(k[2]);
    const __m256 k3 = _mm256_set1_ps(k[3]), k4 = _mm256_set1_ps(k[4]), k5 = _mm256_set1_ps(k[5]);
    const __m256 k6 = _mm256_set1_ps(k[6]), k7 = _mm256_set1_ps(k[7]), k8 = _mm256_set1_ps(k[8]);
    const __m256 vb = _mm256_set1_ps(bias), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const int vec_end = ow / 8 * 8;
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = p + (size_t)oy * stride * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        float *o = out + (size_t)oy * ow;
        if (stride == 1) {
            for (int ox = 0; ox < vec_end; ox += 8) {
                __m256 acc = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + ox), k0, vb);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + ox + 1), k1, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + ox + 2), k2, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + ox), k3, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + ox + 1), k4, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + ox + 2), k5, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + ox), k6, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + ox + 1), k7, acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + ox + 2), k8, acc);
                _mm256_storeu_ps(o + ox, _mm256_min_ps(_mm256_max_ps(acc, vlo), vhi));
            }
        } else {
            for (int ox = 0; ox < vec_end; ox += 8) {
                const int j = 2 * ox;
                __m256 acc = _mm256_fmadd_ps(even_lanes(r0 + j), k0, vb);
                acc = _mm256_fmadd_ps(odd_lanes(r0 + j), k1, acc);
                acc = _mm256_fmadd_ps(even_lanes(r0 + j + 2), k2, acc);
                acc = _mm256_fmadd_ps(even_lanes(r1 + j), k3, acc);
                acc = _mm256_fmadd_ps(odd_lanes(r1 + j), k4, acc);
                acc = _mm256_fmadd_ps(even_lanes(r1 + j + 2), k5, acc);
                acc = _mm256_fmadd_ps(even_lanes(r2 + j), k6, acc);
                acc = _mm256_fmadd_ps(odd_lanes(r2 + j), k7, acc);
                acc = _mm256_fmadd_ps(even_lanes(r2 + j + 2), k8, acc);
                _mm256_storeu_ps(o + ox, _mm256_min_ps(_mm256_max_ps(acc, vlo), vhi));
            }
        }
    }
    if (vec_end < ow) rows_scalar(p, pw, k, bias, stride, out, oh, ow, vec_end, lo, hi);
}

// Stride 1 with one zero column on either side, and stride 2 with TF "SAME" columns on an even
// width (none before, one after), widths a multiple of 8 and any rows (pad_top, oh: a band of a
// plane too): straight from the input, no padded copy (copying the plane cost twice the
// convolution on MobileNetV2's 8x8 and 16x16 planes). Zero rows above and below the plane are
// NULL rows whose taps are skipped; the zero columns are the lanes a masked load leaves zero.
static inline const float *input_row(const float *in, int h, int w, int iy) {
    return iy >= 0 && iy < h ? in + (size_t)iy * w : 0;
}

// Where output q (= row * ow + column, a multiple of 8) goes: row-major (ps == 0), or into the
// projection GEMM's B panels (ps = k * 16: panel q / 16, lane q % 16; see pk_gemm).
static inline float *out_at(float *out, size_t ps, size_t q) { return ps ? out + (q >> 4) * ps + (q & 15) : out + q; }

typedef struct {
    __m256 k[9], bias, lo, hi;
} dw_consts;

// acc + k0 * row[x-1] + k1 * row[x] + k2 * row[x+1] for the 8 outputs at x. FIRST / LAST: x is
// the row's first / last vector, whose neighbour vector is a masked load: the lane outside the
// row is neither read nor nonzero (it may lie outside the buffer). The flags are constants at
// every call, so interior vectors are plain loads.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 taps_s1(const float *row, int x, int first,
                                                                                int last, const __m256 *k, __m256 acc) {
    __m256 c = _mm256_loadu_ps(row + x);
    __m256 l = first ? _mm256_maskload_ps(row + x - 1, _mm256_setr_epi32(0, -1, -1, -1, -1, -1, -1, -1))
                     : _mm256_loadu_ps(row + x - 1);
    __m256 r = last ? _mm256_maskload_ps(row + x + 1, _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0))
                    : _mm256_loadu_ps(row + x + 1);
    return _mm256_fmadd_ps(r, k[2], _mm256_fmadd_ps(c, k[1], _mm256_fmadd_ps(l, k[0], acc)));
}

// acc + k0 * row[2x] + k1 * row[2x+1] + k2 * row[2x+2] for the 8 outputs at x, de-interleaved
// in the order one in-lane shuffle leaves them, outputs [0 1 4 5 | 2 3 6 7] (the caller restores
// the order once per output vector: a lane-crossing permute per tap cost 3x the FMAs). LAST:
// the row's last vector, whose row[2x+16] is the zero after the row.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 taps_s2(const float *row, int x, int last,
                                                                                const __m256 *k, __m256 acc) {
    const float *p = row + 2 * x;
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* p[0 2 8 10 | 4 6 12 14] */
    __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)); /* p[1 3 9 11 | 5 7 13 15] */
    __m256 r;
    if (!last) {
        r = _mm256_shuffle_ps(_mm256_loadu_ps(p + 2), _mm256_loadu_ps(p + 10), _MM_SHUFFLE(2, 0, 2, 0));
    } else { /* p[2 4 10 12 | 6 8 14 16] from e, p[16] = 0 */
        r = _mm256_permutevar8x32_ps(e, _mm256_setr_epi32(1, 4, 3, 6, 5, 2, 7, 7));
        r = _mm256_blend_ps(r, _mm256_setzero_ps(), 0x80);
    }
    return _mm256_fmadd_ps(r, k[2], _mm256_fmadd_ps(o, k[1], _mm256_fmadd_ps(e, k[0], acc)));
}

// One output vector: each input row's taps are their own chain, summed at the end (nine
// dependent FMAs are 36 cycles of latency per output). ALL: the three rows exist (constant, so
// interior rows test nothing).
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 vector_out(const float *r0, const float *r1,
                                                                                   const float *r2, int x, int stride,
                                                                                   int first, int last, int all,
                                                                                   const dw_consts *q) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 t = q->bias, m = zero, b = zero;
    if (stride == 1) {
        if (all || r0) t = taps_s1(r0, x, first, last, q->k, t);
        if (all || r1) m = taps_s1(r1, x, first, last, q->k + 3, m);
        if (all || r2) b = taps_s1(r2, x, first, last, q->k + 6, b);
    } else {
        if (all || r0) t = taps_s2(r0, x, last, q->k, t);
        if (all || r1) m = taps_s2(r1, x, last, q->k + 3, m);
        if (all || r2) b = taps_s2(r2, x, last, q->k + 6, b);
    }
    __m256 acc = _mm256_add_ps(_mm256_add_ps(t, m), b);
    if (stride == 2) acc = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(acc), _MM_SHUFFLE(3, 1, 2, 0)));
    return _mm256_min_ps(_mm256_max_ps(acc, q->lo), q->hi);
}

// One output row (ow outputs, starting at output index q0): first vector, middle, last.
__attribute__((target("avx2,fma"), always_inline)) static inline void row_out(const float *r0, const float *r1,
                                                                              const float *r2, int ow, int stride,
                                                                              int all, float *out, size_t ps,
                                                                              size_t q0, const dw_consts *q) {
    if (ow == 8) {
        _mm256_storeu_ps(out_at(out, ps, q0), vector_out(r0, r1, r2, 0, stride, 1, 1, all, q));
        return;
    }
    _mm256_storeu_ps(out_at(out, ps, q0), vector_out(r0, r1, r2, 0, stride, 1, 0, all, q));
    int x = 8;
    for (; x + 8 < ow; x += 8) _mm256_storeu_ps(out_at(out, ps, q0 + x), vector_out(r0, r1, r2, x, stride, 0, 0, all, q));
    _mm256_storeu_ps(out_at(out, ps, q0 + x), vector_out(r0, r1, r2, x, stride, 0, 1, all, q));
}

__attribute__((target("avx2,fma"))) static void same_avx2(const float *in, int h, int w, const float *k, float bias,
                                                          int stride, int pad_top, float *out, size_t ps, int oh,
                                                          int ow, float lo, float hi) {
    dw_consts q;
    for (int t = 0; t < 9; t++) q.k[t] = _mm256_set1_ps(k[t]);
    q.bias = _mm256_set1_ps(bias), q.lo = _mm256_set1_ps(lo), q.hi = _mm256_set1_ps(hi);
    for (int y = 0; y < oh; y++) {
        int iy = y * stride - pad_top;
        const float *r0 = input_row(in, h, w, iy), *r1 = input_row(in, h, w, iy + 1);
        const float *r2 = input_row(in, h, w, iy + 2);
        size_t q0 = (size_t)y * ow;
        if (stride == 1) {
            if (r0 && r1 && r2) row_out(r0, r1, r2, ow, 1, 1, out, ps, q0, &q);
            else row_out(r0, r1, r2, ow, 1, 0, out, ps, q0, &q);
        } else {
            if (r0 && r1 && r2) row_out(r0, r1, r2, ow, 2, 1, out, ps, q0, &q);
            else row_out(r0, r1, r2, ow, 2, 0, out, ps, q0, &q);
        }
    }
}
#endif

// The unpadded AVX2 paths: MobileNetV2's stride-1 and TF "SAME" stride-2 columns, whole vectors.
static int direct_s1(int w, int stride, int pad_left, int ow) {
    return pk_simd_available() && stride == 1 && pad_left == 1 && ow == w && w % 8 == 0;
}
static int direct_s2(int w, int stride, int pad_left, int ow) {
    return pk_simd_available() && stride == 2 && pad_left == 0 && w == 2 * ow && ow % 8 == 0;
}

int pk_depthwise3x3_writes_panels(int w, int stride, int pad_left, int oh, int ow) {
#ifdef PK_X86
    return (direct_s1(w, stride, pad_left, ow) || direct_s2(w, stride, pad_left, ow)) && (size_t)oh * ow % 16 == 0;
#else
    (void)w, (void)stride, (void)pad_left, (void)oh, (void)ow;
    return 0;
#endif
}

// pk_depthwise3x3_channels (depthwise_channels.c) takes exactly the shapes of the unpadded
// paths above, whose sums it repeats.
int pk_depthwise3x3_channels_supported(int w, int stride, int pad_left, int oh, int ow, int panels) {
    if (oh <= 0 || ow <= 0) return 0;
    return panels ? pk_depthwise3x3_writes_panels(w, stride, pad_left, oh, ow)
                  : direct_s1(w, stride, pad_left, ow) || direct_s2(w, stride, pad_left, ow);
}

void pk_depthwise3x3_to_panels(const float *in, int h, int w, const float *k, float bias, int stride, int pad_top,
                               int pad_left, float *out, size_t panel_stride, int oh, int ow, float lo, float hi) {
    if (oh <= 0 || ow <= 0 || !pk_depthwise3x3_writes_panels(w, stride, pad_left, oh, ow)) return;
#ifdef PK_X86
    same_avx2(in, h, w, k, bias, stride, pad_top, out, panel_stride, oh, ow, lo, hi);
#endif
}

void pk_depthwise3x3(const float *in, int h, int w, const float *k, float bias, int stride, int pad_top, int pad_left,
                     float *out, int oh, int ow, float lo, float hi, float *scratch) {
    if (oh <= 0 || ow <= 0) return;
#ifdef PK_X86
    if (direct_s1(w, stride, pad_left, ow) || direct_s2(w, stride, pad_left, ow)) {
        same_avx2(in, h, w, k, bias, stride, pad_top, out, 0, oh, ow, lo, hi);
        return;
    }
#endif
    const size_t pw = padded_width(ow, stride), prows = padded_rows(oh, stride);
    pad_plane(in, h, w, pad_top, pad_left, scratch, prows, pw);
#ifdef PK_X86
    if (pk_simd_available()) {
        rows_avx2(scratch, pw, k, bias, stride, out, oh, ow, lo, hi);
        return;
    }
#endif
    rows_scalar(scratch, pw, k, bias, stride, out, oh, ow, 0, lo, hi);
}

// Backward of pk_depthwise3x3 before its clamp (the caller passes the pre-activation gradient):
//   dk[t] += sum over outputs of dy[oy][ox] * xpad[oy*s + ky][ox*s + kx]      (t = 3*ky + kx)
//   dx[iy][ix] += sum over the outputs that read it of k[t] * dy[oy][ox]
// The weight gradient reuses the zero-padded plane; the input gradient is scattered into a
// zero-padded gradient plane (no bounds checks) whose interior is then added to dx.
static void backward_rows_scalar(const float *p, float *dp, size_t pw, const float *k, int stride, const float *dy,
                                 int oh, int ow, int x0, double *acc) {
    for (int oy = 0; oy < oh; oy++) {
        const float *g = dy + (size_t)oy * ow;
        for (int ky = 0; ky < 3; ky++) {
            const float *r = p + ((size_t)oy * stride + ky) * pw;
            float *d = dp ? dp + ((size_t)oy * stride + ky) * pw : 0;
            for (int kx = 0; kx < 3; kx++) {
                const float kv = k[3 * ky + kx];
                double a = 0;
                for (int ox = x0; ox < ow; ox++) {
                    a += (double)g[ox] * r[ox * stride + kx];
                    if (d) d[ox * stride + kx] += kv * g[ox];
                }
                acc[3 * ky + kx] += a;
            }
        }
    }
}

#ifdef PK_X86
__attribute__((target("avx2,fma"))) static void backward_rows_avx2(const float *p, float *dp, size_t pw,
                                                                   const float *k, int stride, const float *dy,
                                                                   int oh, int ow, double *acc) {
    const int vec_end = ow / 8 * 8;
    __m256 a[9];
    for (int t = 0; t < 9; t++) a[t] = _mm256_setzero_ps();
    __m256 kv[9];
    for (int t = 0; t < 9; t++) kv[t] = _mm256_set1_ps(k[t]);
    for (int oy = 0; oy < oh; oy++) {
        const float *g = dy + (size_t)oy * ow;
        for (int ky = 0; ky < 3; ky++) {
            const float *r = p + ((size_t)oy * stride + ky) * pw;
            float *d = dp ? dp + ((size_t)oy * stride + ky) * pw : 0;
            for (int ox = 0; ox < vec_end; ox += 8) {
                const __m256 gv = _mm256_loadu_ps(g + ox);
                if (stride == 1) {
                    a[3 * ky + 0] = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r + ox), a[3 * ky + 0]);
                    a[3 * ky + 1] = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r + ox + 1), a[3 * ky + 1]);
                    a[3 * ky + 2] = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r + ox + 2), a[3 * ky + 2]);
                    if (d) {
                        // Three overlapping read-modify-writes in order: each sees the previous one's sums.
                        for (int kx = 0; kx < 3; kx++)
                            _mm256_storeu_ps(d + ox + kx,
                                             _mm256_fmadd_ps(kv[3 * ky + kx], gv, _mm256_loadu_ps(d + ox + kx)));
                    }
                } else {
                    const float *rj = r + 2 * ox;
                    a[3 * ky + 0] = _mm256_fmadd_ps(gv, even_lanes(rj), a[3 * ky + 0]);
                    a[3 * ky + 1] = _mm256_fmadd_ps(gv, odd_lanes(rj), a[3 * ky + 1]);
                    a[3 * ky + 2] = _mm256_fmadd_ps(gv, even_lanes(rj + 2), a[3 * ky + 2]);
                    if (d) {
                        float *dj = d + 2 * ox;
                        for (int i = 0; i < 8; i++) {
                            const float gi = g[ox + i];
                            dj[2 * i] += k[3 * ky] * gi;
                            dj[2 * i + 1] += k[3 * ky + 1] * gi;
                            dj[2 * i + 2] += k[3 * ky + 2] * gi;
                        }
                    }
                }
            }
        }
    }
    // Per-plane sums leave the vectors once, in double (planes reach 128² × batch terms).
    for (int t = 0; t < 9; t++) {
        float l[8];
        _mm256_storeu_ps(l, a[t]);
        double s = 0;
        for (int i = 0; i < 8; i++) s += l[i];
        acc[t] += s;
    }
    if (vec_end < ow) backward_rows_scalar(p, dp, pw, k, stride, dy, oh, ow, vec_end, acc);
}
#endif

size_t pk_depthwise3x3_backward_scratch(int oh, int ow, int stride) { return 2 * pk_depthwise3x3_scratch(oh, ow, stride); }

void pk_depthwise3x3_backward(const float *in, int h, int w, const float *k, int stride, int pad_top, int pad_left,
                              const float *dy, int oh, int ow, float *dx, float *dk, float *scratch) {
    if (oh <= 0 || ow <= 0) return;
    const size_t pw = padded_width(ow, stride), prows = padded_rows(oh, stride);
    float *p = scratch, *dp = dx ? scratch + prows * pw : 0;
    pad_plane(in, h, w, pad_top, pad_left, p, prows, pw);
    if (dp) memset(dp, 0, prows * pw * sizeof(float));
    double acc[9] = {0};
#ifdef PK_X86
    if (pk_simd_available())
        backward_rows_avx2(p, dp, pw, k, stride, dy, oh, ow, acc);
    else
#endif
        backward_rows_scalar(p, dp, pw, k, stride, dy, oh, ow, 0, acc);
    for (int t = 0; t < 9; t++) dk[t] += (float)acc[t];
    if (!dp) return;
    // Padded gradient rows/columns that map inside the input go back to dx.
    for (int iy = 0; iy < h; iy++) {
        const size_t pr = (size_t)iy + pad_top;
        if (pr >= prows) break;
        const float *src = dp + pr * pw + pad_left;
        float *dst = dx + (size_t)iy * w;
        long n = w;
        if ((long)pad_left + n > (long)pw) n = (long)pw - pad_left;
        for (long ix = 0; ix < n; ix++) dst[ix] += src[ix];
    }
}
