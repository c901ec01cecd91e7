#ifndef PASTICHE_KERNELS_H
#define PASTICHE_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Direct stride-1 convolution for layers with few output channels (the transfer network's 9x9
 * 3->8 and 8->3 and its upsampling convs), where a GEMM has only Cout rows and runs far below
 * peak. Output channels go in passes of up to 6; each block of 2-3 vectors of 8 pixels keeps
 * its accumulators in registers across all Cin*k*k taps, so every load feeds several FMAs.
 *
 *   in:   padded input band, [cin][rows_out + k - 1][in_stride], valid width wout + k - 1
 *   w:    weights [cout][cin][k][k];  bias: [cout] or NULL
 *   out:  out[co * out_plane + r * out_stride + x] = bias[co] + sum over taps, r < rows_out, x < wout
 *
 * Runs AVX2+FMA code when the CPU has it (checked once at run time), portable C otherwise.
 */
void pk_conv_direct(const float *in, int cin, size_t in_stride, const float *w, int cout, int k, const float *bias,
                    float *out, size_t out_plane, size_t out_stride, int rows_out, int wout);

/*
 * Runs task(context, i) for i in [0, count) on the calling thread and the pool's workers (one
 * per extra core, started on first use, spinning ~2 ms between jobs before they sleep), and
 * returns when all are done. Calls from inside a task or while another thread's job runs run
 * their items inline.
 */
typedef void (*pk_task)(void *context, long i);
void pk_parallel_for(long count, pk_task task, void *context);

/* *counter += 1 atomically, returning the value before: workers taking items from a shared queue. */
long pk_next_item(long *counter);

/* dst[j] = src[2*j] for j < n (stride-2 unfolding); reads src[0 ... 2n-2] only. */
void pk_gather_even(float *dst, const float *src, long n);

/* 1 when the CPU runs the AVX2+FMA paths (checked once); every kernel here asks it. */
int pk_simd_available(void);

/*
 * One channel of a 3x3 depthwise convolution, stride 1 or 2, zero padding, then
 * out = min(max(conv + bias, lo), hi) (ReLU6: lo 0, hi 6; no activation: -INFINITY, INFINITY).
 *
 *   in:  [h][w];  out: [oh][ow];  k: the 9 taps, row-major
 *   pad_top / pad_left: zero rows / columns before the input (bottom and right follow from oh, ow)
 *   scratch: pk_depthwise3x3_scratch(oh, ow, stride) floats (the zero-padded plane)
 */
void pk_depthwise3x3(const float *in, int h, int w, const float *k, float bias, int stride, int pad_top, int pad_left,
                     float *out, int oh, int ow, float lo, float hi, float *scratch);
size_t pk_depthwise3x3_scratch(int oh, int ow, int stride);

/*
 * pk_depthwise3x3 writing its output straight into the B panels of the 1x1 projection that
 * follows (pk_gemm with ldb == 0), which then needs no packing pass: output q = oy*ow + ox
 * goes to out[(q / 16) * panel_stride + q % 16], with out at the channel's row of panel 0
 * (panels + channel * 16) and panel_stride = channels * 16. Only the unpadded AVX2 paths
 * (MobileNetV2's paddings, ow a multiple of 8) do this: pk_depthwise3x3_writes_panels says
 * whether a shape has one (oh * ow a multiple of 16 too); otherwise use pk_depthwise3x3.
 */
int pk_depthwise3x3_writes_panels(int w, int stride, int pad_left, int oh, int ow);
void pk_depthwise3x3_to_panels(const float *in, int h, int w, const float *k, float bias, int stride, int pad_top,
                               int pad_left, float *out, size_t panel_stride, int oh, int ow, float lo, float hi);

/*
 * pk_depthwise3x3 / pk_depthwise3x3_to_panels over `count` channels in one call, the same
 * bits, faster: channel c reads in + c * channel_stride ([h][w], input row 0 being the conv's
 * row pad_top), taps k + 9c, bias[c], and writes out + c * out_stride ([oh][ow]) when
 * panel_stride is 0, else its panel rows from out + 16c. The unpadded kernel's shapes only
 * (pk_depthwise3x3_channels_supported): stride 1 with one zero column each side, stride 2 with
 * w == 2 ow and none on the left; ow a multiple of 8, oh * ow a multiple of 16 for panels.
 *   scratch: pk_depthwise3x3_channels_scratch(oh, ow, stride) floats
 */
int pk_depthwise3x3_channels_supported(int w, int stride, int pad_left, int oh, int ow, int panels);
size_t pk_depthwise3x3_channels_scratch(int oh, int ow, int stride);
void pk_depthwise3x3_channels(const float *in, size_t channel_stride, int count, int h, int w, const float *k,
                              const float *bias, int stride, int pad_top, int pad_left, float *out, size_t out_stride,
                              size_t panel_stride, int oh, int ow, float lo, float hi, float *scratch);

/*
 * Gradients of pk_depthwise3x3 without the clamp (dy is the gradient before the activation):
 *   dk[t] += sum_{oy,ox} dy[oy][ox] * x[oy*s + ky - pad_top][ox*s + kx - pad_left]   (zero outside)
 *   dx (optional, accumulated): dx[iy][ix] += sum of k[t] * dy over the outputs that read x[iy][ix]
 *   scratch: pk_depthwise3x3_backward_scratch(oh, ow, stride) floats
 */
void pk_depthwise3x3_backward(const float *in, int h, int w, const float *k, int stride, int pad_top, int pad_left,
                              const float *dy, int oh, int ow, float *dx, float *dk, float *scratch);
size_t pk_depthwise3x3_backward_scratch(int oh, int ow, int stride);

/*
 * Instance-norm statistics of one plane: sum and sum of squares of (x[i] - shift), i < n.
 * Shifting by a value near the mean keeps E[d^2] - E[d]^2 free of cancellation. Vector lanes
 * sum blocks of 2048 values in float, the block sums go into double.
 */
void pk_moments(const float *x, size_t n, float shift, double *sum, double *sumsq);

/*
 * Soft-mask-weighted statistics of one plane (a region's instance-norm moments): the sums of
 * w[i], w[i] * d and w[i] * d^2 with d = x[i] - shift, i < n; blocks in float, totals in double
 * as in pk_moments.
 */
void pk_weighted_moments(const float *x, const float *w, size_t n, float shift, double *weight, double *sum,
                         double *sumsq);

/* x[i] = x[i] * scale + shift, then max(., 0) when relu, then + residual[i] when residual. */
void pk_scale_shift(float *x, size_t n, float scale, float shift, int relu, const float *residual);

/*
 * Spatial conditional instance norm (one style per region): with k regions,
 *   s[i] = sum_r weight[r][i] * scale[r],  t[i] = sum_r weight[r][i] * shift[r],
 *   x[i] = x[i] * s[i] + t[i], then max(., 0) when relu, then + residual[i] when residual.
 * The sums run r = 0, 1, ... from weight[0][i] * scale[0], so one region of weight 1 gives
 * exactly pk_scale_shift's arithmetic.
 */
void pk_scale_shift_regions(float *x, size_t n, size_t k, const float *const *weight, const float *scale,
                            const float *shift, int relu, const float *residual);

/*
 * C = clamp(A . B + bias, lo, hi) + residual, register-blocked (the 1x1 convolutions and the
 * Winograd products):
 *   a: [m][lda] row-major, columns 0..<k; or, with lda == 0, pk_gemm_pack_a's copy of A
 *     (weights packed once: each pass of up to 6 rows one contiguous stream, not 6 rows lda apart)
 *   b: [k][ldb], columns 0..<n; or, with ldb == 0, n / 16 panels of k x 16 floats (column x at
 *     panel x / 16, lane x % 16; n a multiple of 16) as pk_gemm_pack_b or the depthwise kernel
 *     write them
 *   c: [m][ldc];  bias: [m] or NULL;  lo / hi: -INFINITY / INFINITY for no clamp
 *   residual: [m][ldr] or NULL, added after the clamp (MobileNetV2's shortcut)
 * c must not overlap b or residual (a block may be written twice).
 *   scratch: pk_gemm_scratch(k) floats to copy B's column blocks into contiguous panels (rows a
 *   power of two apart share cache sets), or NULL to read B in place (rows close together)
 */
void pk_gemm(const float *a, size_t lda, int m, int k, const float *b, size_t ldb, float *c, size_t ldc, int n, const float *bias,
             float lo, float hi, const float *residual, size_t ldr, float *scratch);
size_t pk_gemm_scratch(int k);
/* A [m][lda] (columns 0..<k) -> packed [m * k] floats for pk_gemm with lda == 0. */
void pk_gemm_pack_a(const float *a, size_t lda, int m, int k, float *packed);
/* B [k][ldb] (columns 0..<n, n a multiple of 16) -> k * n floats of panels for ldb == 0: for an
 * operand several products read (each core's shares of a layer). */
void pk_gemm_pack_b(const float *b, size_t ldb, int k, int n, float *panels);

/*
 * 3x3 stride-1 convolution by Winograd F(2x2, 3x3) over one band of output rows.
 *   pk_winograd3x3_weights: w [cout][cin][3][3] -> u [16][cout][cin] (G g G^T)
 *   in:  padded band [cin][2*tiles_y + 2][in_stride], in_stride >= 2*tiles_x + 2 (columns past
 *        the image may hold anything: they only reach outputs that are cropped)
 *   out: out[co*out_plane + r*out_stride + x] = bias[co] + conv, r < rows_out, x < wout
 *        (rows_out <= 2*tiles_y, wout <= 2*tiles_x)
 *   scratch: pk_winograd3x3_scratch(cin, cout, tiles_y, tiles_x) floats
 */
void pk_winograd3x3_weights(const float *w, int cout, int cin, float *u);
size_t pk_winograd3x3_scratch(int cin, int cout, int tiles_y, int tiles_x);
void pk_winograd3x3(const float *in, int cin, size_t in_stride, int tiles_y, int tiles_x, const float *u, int cout,
                    const float *bias, float *out, size_t out_plane, size_t out_stride, int rows_out, int wout,
                    float *scratch);

/*
 * 3x3 stride-1 convolution by Winograd F(4x4, 3x3) over one band of output rows (winograd4.c).
 *   pk_winograd4x4_weights: w [cout][cin][3][3] -> u [36][cout][cin] (G g G^T)
 *   in:  padded band [cin][4*tiles_y + 2][in_stride], in_stride >= 4*tiles_x + 2
 *   out: as pk_winograd3x3, rows_out <= 4*tiles_y, wout <= 4*tiles_x
 *   scratch: pk_winograd4x4_scratch(cin, cout, tiles_y, tiles_x) floats
 */
void pk_winograd4x4_weights(const float *w, int cout, int cin, float *u);
size_t pk_winograd4x4_scratch(int cin, int cout, int tiles_y, int tiles_x);
void pk_winograd4x4(const float *in, int cin, size_t in_stride, int tiles_y, int tiles_x, const float *u, int cout,
                    const float *bias, float *out, size_t out_plane, size_t out_stride, int rows_out, int wout,
                    float *scratch);

#ifdef __cplusplus
}
#endif

#endif
