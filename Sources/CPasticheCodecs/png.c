/* PNG decode/encode over libpng. Every longjmp from libpng lands in a setjmp in this file. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Largest chunk libpng may allocate for ancillary data (iCCP, zTXt, ...). */
#define PC_PNG_CHUNK_MALLOC_MAX (16u * 1024u * 1024u)

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    pc_result *result;
    int have_message;   /* a specific message was already set; keep it */
    uint8_t *row;
    uint8_t *image;
    png_bytep *rows;
    /* encoder output */
    uint8_t *out;
    size_t out_size;
    size_t out_capacity;
} png_ctx;

static void pc_png_error(png_structp png, png_const_charp message) {
    png_ctx *c = (png_ctx *)png_get_error_ptr(png);
    if (!c->have_message) {
        int status = PC_ERR_CORRUPT;
        if (strstr(message, "exceeds user limit") || strstr(message, "too large"))
            status = PC_ERR_TOO_LARGE;
        else if (strstr(message, "Out of memory") || strstr(message, "out of memory"))
            status = PC_ERR_NOMEM;
        if (status == PC_ERR_CORRUPT)
            pc_set_error(c->result, status, "corrupt PNG data (%s)", message);
        else
            pc_set_error(c->result, status, "%s", message);
        c->have_message = 1;
    }
    png_longjmp(png, 1);
}

static void pc_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message; /* warnings (e.g. unknown sRGB profiles) are not fatal and not printed */
}

/* Fails the current libpng call with our own status and message. */
static void pc_png_fail(png_structp png, png_ctx *c, int status, const char *message) {
    pc_set_error(c->result, status, "%s", message);
    c->have_message = 1;
    png_longjmp(png, 1);
}

static void pc_png_read(png_structp png, png_bytep dest, png_size_t length) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (length > c->size - c->pos) pc_png_fail(png, c, PC_ERR_TRUNCATED, "truncated PNG data");
    memcpy(dest, c->data + c->pos, length);
    c->pos += length;
}

static int color_of(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return PC_COLOR_GREY;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return PC_COLOR_GREY_ALPHA;
    case PNG_COLOR_TYPE_RGB: return PC_COLOR_RGB;
    case PNG_COLOR_TYPE_RGB_ALPHA: return PC_COLOR_RGBA;
    case PNG_COLOR_TYPE_PALETTE: return PC_COLOR_PALETTE;
    default: return PC_COLOR_OTHER;
    }
}

static void setup_reader(png_structp png, png_ctx *c, uint32_t max_side) {
    png_set_read_fn(png, c, pc_png_read);
    /* CRC errors in critical AND ancillary chunks are fatal (libpng's default only warns
       for ancillary chunks). */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_user_limits(png, max_side, max_side);
    png_set_chunk_malloc_max(png, PC_PNG_CHUNK_MALLOC_MAX);
}

static void fill_info(png_structp png, png_infop info, pc_info *out) {
    out->format = PC_FORMAT_PNG;
    out->width = png_get_image_width(png, info);
    out->height = png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->channels = png_get_channels(png, info);
    int color_type = png_get_color_type(png, info);
    out->color = color_of(color_type);
    out->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    out->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    out->progressive = 0;
    out->adobe = 0;
    out->orientation = 1;
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 exif_size = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &exif_size, &exif) && exif)
        out->orientation = pc_tiff_orientation(exif, exif_size);
#endif
}

int pc_png_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result) {
    pc_clear_result(result);
    png_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->data = data;
    c->size = size;
    c->result = result;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, pc_png_error, pc_png_warning);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    if (!png || !pinfo) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        free(c);
        return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    /* Report the declared size whatever it is; the caller checks its pixel limit. */
    setup_reader(png, c, 0x7fffffffu);
    png_read_info(png, pinfo);
    fill_info(png, pinfo, info);
    png_destroy_read_struct(&png, &pinfo, NULL);
    free(c);
    return PC_OK;
}

static inline float composite(float value, float alpha) {
    return value * alpha + (1.0f - alpha); /* over white */
}

static void store_row(float *out, size_t plane, size_t offset, uint32_t width,
                      const uint8_t *row, int channels, int depth) {
    float *r = out + offset, *g = out + plane + offset, *b = out + 2 * plane + offset;
    if (depth == 8) {
        const float k = 1.0f / 255.0f;
        for (uint32_t x = 0; x < width; x++) {
            const uint8_t *p = row + (size_t)x * channels;
            if (channels == 4) {
                float a = p[3] * k;
                r[x] = composite(p[0] * k, a);
                g[x] = composite(p[1] * k, a);
                b[x] = composite(p[2] * k, a);
            } else {
                /* Division (not * 1/255) so values equal Swift's Float(v) / 255 exactly. */
                r[x] = p[0] / 255.0f;
                g[x] = p[1] / 255.0f;
                b[x] = p[2] / 255.0f;
            }
        }
    } else {
        const float k = 1.0f / 65535.0f;
        for (uint32_t x = 0; x < width; x++) {
            const uint8_t *p = row + (size_t)x * channels * 2;
            float rv = ((p[0] << 8) | p[1]) / 65535.0f;
            float gv = ((p[2] << 8) | p[3]) / 65535.0f;
            float bv = ((p[4] << 8) | p[5]) / 65535.0f;
            if (channels == 4) {
                float a = ((p[6] << 8) | p[7]) * k;
                rv = composite(rv, a);
                gv = composite(gv, a);
                bv = composite(bv, a);
            }
            r[x] = rv;
            g[x] = gv;
            b[x] = bv;
        }
    }
}

int pc_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                  uint32_t expected_width, uint32_t expected_height,
                  float *out, pc_result *result) {
    pc_clear_result(result);
    if (!data || !out) return pc_set_error(result, PC_ERR_ARGUMENT, "null buffer");
    png_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->data = data;
    c->size = size;
    c->result = result;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, pc_png_error, pc_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        free(c);
        return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(c->row);
        free(c->image);
        free(c->rows);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    uint64_t side = max_pixels > 0x7fffffffu ? 0x7fffffffu : max_pixels;
    if (side < 1) side = 1;
    setup_reader(png, c, (uint32_t)side);
    png_read_info(png, info);

    uint32_t width = png_get_image_width(png, info);
    uint32_t height = png_get_image_height(png, info);
    if ((uint64_t)width * height > max_pixels)
        pc_png_fail(png, c, PC_ERR_TOO_LARGE, "image exceeds the pixel limit");
    if (width != expected_width || height != expected_height)
        pc_png_fail(png, c, PC_ERR_ARGUMENT, "image size differs from the probed size");

    png_set_expand(png);          /* palette -> RGB, grey < 8 bit -> 8 bit, tRNS -> alpha */
    png_set_tRNS_to_alpha(png);
    png_set_gray_to_rgb(png);     /* 16-bit stays 16-bit */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    if ((channels != 3 && channels != 4) || (depth != 8 && depth != 16))
        pc_png_fail(png, c, PC_ERR_UNSUPPORTED, "unsupported PNG pixel layout");
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t plane = (size_t)width * height;

    if (passes > 1) {
        c->image = malloc(rowbytes * height);
        c->rows = malloc(sizeof(png_bytep) * height);
        if (!c->image || !c->rows) pc_png_fail(png, c, PC_ERR_NOMEM, "out of memory");
        for (uint32_t y = 0; y < height; y++) c->rows[y] = c->image + rowbytes * y;
        png_read_image(png, c->rows);
        for (uint32_t y = 0; y < height; y++)
            store_row(out, plane, (size_t)y * width, width, c->rows[y], channels, depth);
    } else {
        c->row = malloc(rowbytes);
        if (!c->row) pc_png_fail(png, c, PC_ERR_NOMEM, "out of memory");
        for (uint32_t y = 0; y < height; y++) {
            png_read_row(png, c->row, NULL);
            store_row(out, plane, (size_t)y * width, width, c->row, channels, depth);
        }
    }
    /* Reads to IEND so the CRC of the last IDAT (and later chunks) is checked too. */
    png_read_end(png, NULL);

    png_destroy_read_struct(&png, &info, NULL);
    free(c->row);
    free(c->image);
    free(c->rows);
    free(c);
    return PC_OK;
}

static void pc_png_write(png_structp png, png_bytep src, png_size_t length) {
    png_ctx *c = (png_ctx *)png_get_io_ptr(png);
    if (length > c->out_capacity - c->out_size) {
        size_t capacity = c->out_capacity ? c->out_capacity : 65536;
        while (length > capacity - c->out_size) capacity *= 2;
        uint8_t *grown = realloc(c->out, capacity);
        if (!grown) pc_png_fail(png, c, PC_ERR_NOMEM, "out of memory");
        c->out = grown;
        c->out_capacity = capacity;
    }
    memcpy(c->out + c->out_size, src, length);
    c->out_size += length;
}

static void pc_png_flush(png_structp png) { (void)png; }

int pc_png_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                  uint8_t **out, size_t *out_size, pc_result *result) {
    pc_clear_result(result);
    if (!rgb || !out || !out_size) return pc_set_error(result, PC_ERR_ARGUMENT, "null buffer");
    *out = NULL;
    *out_size = 0;
    if (width == 0 || height == 0 || width > 0x7fffffffu || height > 0x7fffffffu)
        return pc_set_error(result, PC_ERR_ARGUMENT, "invalid image size %ux%u", width, height);
    png_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->result = result;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, pc_png_error, pc_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        free(c);
        return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(c->out);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    png_set_write_fn(png, c, pc_png_write, pc_png_flush);
    /* zlib's fastest level (OpenCV's default for PNG, IMWRITE_PNG_COMPRESSION = 1): on a 12-MP
     * painting it deflates about five times faster than libpng's default level 6 for files about
     * 15 % larger, and deflate was most of a big stylization's time. docs/image-io.md. */
    png_set_compression_level(png, 1);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = c->out;
    *out_size = c->out_size;
    free(c);
    return PC_OK;
}
