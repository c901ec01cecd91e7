#ifndef PASTICHE_CODECS_H
#define PASTICHE_CODECS_H

/*
 * PNG and JPEG codecs over libpng and libjpeg(-turbo), from and to memory buffers.
 *
 * libpng and libjpeg report fatal errors with longjmp (or, by default, exit()); Swift cannot
 * unwind through either, so every setjmp site and error hook lives in this C target. Each
 * function returns a PC_* status code and fills a pc_result with a one-line message.
 *
 * Decoders write PLANAR RGB floats in [0, 1] (all R, then all G, then all B; row-major
 * within a plane). Alpha (an alpha channel or a tRNS chunk) is composited onto WHITE.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PC_MESSAGE_SIZE 256

enum {
    PC_OK = 0,
    PC_ERR_UNKNOWN_FORMAT = 1, /* neither PNG nor JPEG magic bytes */
    PC_ERR_TRUNCATED = 2,      /* data ended early */
    PC_ERR_CORRUPT = 3,        /* malformed data, bad CRC, ... */
    PC_ERR_TOO_LARGE = 4,      /* declared dimensions exceed a limit */
    PC_ERR_UNSUPPORTED = 5,    /* valid but unsupported (e.g. odd JPEG colour space) */
    PC_ERR_NOMEM = 6,
    PC_ERR_ARGUMENT = 7,       /* bad arguments from the caller */
};

enum {
    PC_FORMAT_UNKNOWN = 0,
    PC_FORMAT_PNG = 1,
    PC_FORMAT_JPEG = 2,
};

enum {
    PC_COLOR_GREY = 0,
    PC_COLOR_GREY_ALPHA = 1,
    PC_COLOR_RGB = 2,
    PC_COLOR_RGBA = 3,
    PC_COLOR_PALETTE = 4,
    PC_COLOR_YCBCR = 5,
    PC_COLOR_CMYK = 6,
    PC_COLOR_YCCK = 7,
    PC_COLOR_OTHER = 8,
};

typedef struct {
    int status;                     /* PC_* code, PC_OK on success */
    char message[PC_MESSAGE_SIZE];  /* NUL-terminated one-line reason when status != PC_OK */
} pc_result;

typedef struct {
    int format;        /* PC_FORMAT_* */
    uint32_t width;
    uint32_t height;
    int bit_depth;     /* bits per sample as stored (PNG 1..16; JPEG 8 or 12) */
    int channels;      /* samples per pixel as stored (palette PNG: 1) */
    int color;         /* PC_COLOR_* as stored */
    int has_alpha;     /* PNG alpha channel or tRNS chunk */
    int interlaced;    /* PNG Adam7 */
    int progressive;   /* JPEG progressive (SOF2) */
    int adobe;         /* JPEG Adobe APP14 marker present */
    int orientation;   /* EXIF orientation 1..8 (JPEG APP1 Exif, PNG eXIf before IDAT); 1 if none */
} pc_info;

/* PC_FORMAT_* from the magic bytes. */
int pc_detect_format(const uint8_t *data, size_t size);

/* Reads the header only (no pixel decoding). Reports the declared dimensions without limits. */
int pc_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result);

/*
 * Decodes into `out`, which must hold 3 * width * height floats for the width and height that
 * pc_probe reported; `expected_width`/`expected_height` must be those values (mismatch fails
 * with PC_ERR_ARGUMENT). Fails with PC_ERR_TOO_LARGE when width * height > max_pixels
 * (libpng's own user limits are also set from max_pixels).
 */
int pc_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
              uint32_t expected_width, uint32_t expected_height,
              float *out, pc_result *result);
int pc_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                  uint32_t expected_width, uint32_t expected_height,
                  float *out, pc_result *result);
int pc_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   uint32_t expected_width, uint32_t expected_height,
                   float *out, pc_result *result);

/*
 * Encoders take INTERLEAVED 8-bit RGB (3 * width * height bytes). On success *out points to
 * a malloc'd buffer of *out_size bytes that the caller releases with pc_free.
 * PNG: 8-bit RGB, non-interlaced, default zlib level.
 * JPEG: quality 1..100, baseline, optimised Huffman tables; chroma 4:4:4 when `subsample444`
 * is non-zero, else 4:2:0.
 */
int pc_png_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                  uint8_t **out, size_t *out_size, pc_result *result);
int pc_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                   int subsample444, uint8_t **out, size_t *out_size, pc_result *result);

void pc_free(void *pointer);

/* Versions of the linked libraries, for `pastiche doctor`: libpng's run-time version string and
 * libjpeg-turbo's compile-time version number (e.g. 2001005 for 2.1.5; 0 if not libjpeg-turbo)
 * and the libjpeg API version (62, 80, ...). */
const char *pc_libpng_version(void);
int pc_libjpeg_turbo_version(void);
int pc_libjpeg_api_version(void);

#ifdef __cplusplus
}
#endif

#endif
