#ifndef PASTICHE_KERNELS_H
#define PASTICHE_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Direct stride-1 convolution for layers with few output channels (Cout <= 8), where a GEMM
 * has only Cout rows and runs far below peak (the transfer network's 9x9 3->8 and 8->3 convs).
 * Each output vector of 8 pixels keeps Cout x (up to 4) accumulators in registers across all
 * Cin*k*k taps, so every input load feeds several FMAs.
 *
 *   in:  padded input band, [cin][rows_out + k - 1][in_stride], valid width wout + k - 1
 *   w:   weights [cout][cin][k][k]
 *   out: out[co * out_plane + r * out_stride + x] += sum over taps, for r < rows_out, x < wout
 *
 * Runs AVX2+FMA code when the CPU has it (checked once at run time), portable C otherwise.
 */
void pk_conv_direct(const float *in, int cin, size_t in_stride, const float *w, int cout, int k,
                    float *out, size_t out_plane, size_t out_stride, int rows_out, int wout);

/* 1 when the AVX2+FMA path is in use. */
int pk_conv_direct_simd(void);

#ifdef __cplusplus
}
#endif

#endif
