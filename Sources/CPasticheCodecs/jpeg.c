/* JPEG decode/encode over libjpeg(-turbo). Every longjmp from libjpeg lands in a setjmp in
   this file: the error manager's error_exit longjmps instead of calling exit(). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "internal.h"

/* Progressive JPEGs with absurd numbers of scans are a known CPU bomb (cf. djpeg -maxscans). */
#define PC_JPEG_MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr pub;   /* must be first */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    pc_result *result;
    int have_message;
} jpeg_err;

typedef struct {
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct cc;
    jpeg_err err;
    uint8_t *row;
    unsigned char *out;
    unsigned long out_size;
} jpeg_ctx;

static void pc_jpeg_fail(j_common_ptr cinfo, int status, const char *message) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (!e->have_message) {
        pc_set_error(e->result, status, "%s", message);
        e->have_message = 1;
    }
    longjmp(e->jump, 1);
}

static void pc_jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (!e->have_message) {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        int code = cinfo->err->msg_code;
        int status = PC_ERR_CORRUPT;
        if (code == JERR_IMAGE_TOO_BIG || code == JERR_WIDTH_OVERFLOW) status = PC_ERR_TOO_LARGE;
        else if (code == JERR_OUT_OF_MEMORY) status = PC_ERR_NOMEM;
        else if (code == JERR_CONVERSION_NOTIMPL || code == JERR_BAD_J_COLORSPACE ||
                 code == JERR_BAD_IN_COLORSPACE || code == JERR_NOT_COMPILED ||
                 code == JERR_ARITH_NOTIMPL)
            status = PC_ERR_UNSUPPORTED;
        else if (code == JERR_INPUT_EMPTY || code == JERR_INPUT_EOF)
            status = PC_ERR_TRUNCATED;
        if (status == PC_ERR_CORRUPT)
            pc_set_error(e->result, status, "corrupt JPEG data (%s)", buffer);
        else if (status == PC_ERR_TRUNCATED)
            pc_set_error(e->result, status, "truncated JPEG data");
        else
            pc_set_error(e->result, status, "%s", buffer);
        e->have_message = 1;
    }
    longjmp(e->jump, 1);
}

static void pc_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        /* libjpeg pads a short stream with a fake EOI and carries on (grey bottom rows).
           We report truncation instead, like PIL without LOAD_TRUNCATED_IMAGES. */
        if (cinfo->err->msg_code == JWRN_JPEG_EOF)
            pc_jpeg_fail(cinfo, PC_ERR_TRUNCATED, "truncated JPEG data");
        cinfo->err->num_warnings++;  /* other corrupt-data warnings are tolerated */
    }
}

static void pc_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void pc_jpeg_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number > PC_JPEG_MAX_SCANS)
            pc_jpeg_fail(cinfo, PC_ERR_CORRUPT, "corrupt JPEG data (too many progressive scans)");
    }
}

static struct jpeg_error_mgr *setup_err(jpeg_ctx *c, pc_result *result) {
    jpeg_std_error(&c->err.pub);
    c->err.pub.error_exit = pc_jpeg_error_exit;
    c->err.pub.emit_message = pc_jpeg_emit_message;
    c->err.pub.output_message = pc_jpeg_output_message;
    c->err.progress.progress_monitor = pc_jpeg_progress;
    c->err.result = result;
    return &c->err.pub;
}

static int color_of(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return PC_COLOR_GREY;
    case JCS_RGB: return PC_COLOR_RGB;
    case JCS_YCbCr: return PC_COLOR_YCBCR;
    case JCS_CMYK: return PC_COLOR_CMYK;
    case JCS_YCCK: return PC_COLOR_YCCK;
    default: return PC_COLOR_OTHER;
    }
}

static int exif_orientation(j_decompress_ptr d) {
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 14) continue;
        if (memcmp(m->data, "Exif\0", 5) != 0) continue;
        return pc_tiff_orientation(m->data + 6, m->data_length - 6);
    }
    return 1;
}

int pc_jpeg_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result) {
    pc_clear_result(result);
    jpeg_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->d.err = setup_err(c, result);
    if (setjmp(c->err.jump)) {
        jpeg_destroy_decompress(&c->d);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    jpeg_create_decompress(&c->d);
    jpeg_mem_src(&c->d, (const unsigned char *)data, (unsigned long)size);
    jpeg_save_markers(&c->d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&c->d, TRUE);
    info->format = PC_FORMAT_JPEG;
    info->width = c->d.image_width;
    info->height = c->d.image_height;
    info->bit_depth = c->d.data_precision;
    info->channels = c->d.num_components;
    info->color = color_of(c->d.jpeg_color_space);
    info->has_alpha = 0;
    info->interlaced = 0;
    info->progressive = c->d.progressive_mode ? 1 : 0;
    info->adobe = c->d.saw_Adobe_marker ? 1 : 0;
    info->orientation = exif_orientation(&c->d);
    jpeg_destroy_decompress(&c->d);
    free(c);
    return PC_OK;
}

int pc_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   uint32_t expected_width, uint32_t expected_height,
                   float *out, pc_result *result) {
    pc_clear_result(result);
    if (!data || !out) return pc_set_error(result, PC_ERR_ARGUMENT, "null buffer");
    jpeg_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->d.err = setup_err(c, result);
    if (setjmp(c->err.jump)) {
        jpeg_destroy_decompress(&c->d);
        free(c->row);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    jpeg_create_decompress(&c->d);
    c->d.progress = &c->err.progress;
    jpeg_mem_src(&c->d, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&c->d, TRUE);

    j_common_ptr common = (j_common_ptr)&c->d;
    uint32_t width = c->d.image_width, height = c->d.image_height;
    if ((uint64_t)width * height > max_pixels)
        pc_jpeg_fail(common, PC_ERR_TOO_LARGE, "image exceeds the pixel limit");
    if (width != expected_width || height != expected_height)
        pc_jpeg_fail(common, PC_ERR_ARGUMENT, "image size differs from the probed size");

    int cmyk = 0;
    switch (c->d.jpeg_color_space) {
    case JCS_GRAYSCALE: c->d.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: c->d.out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: c->d.out_color_space = JCS_CMYK; cmyk = 1; break;
    default: pc_jpeg_fail(common, PC_ERR_UNSUPPORTED, "unsupported JPEG colour space");
    }
    c->d.dct_method = JDCT_ISLOW;
    c->d.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&c->d);
    int components = c->d.output_components;
    if (c->d.output_width != width || c->d.output_height != height)
        pc_jpeg_fail(common, PC_ERR_UNSUPPORTED, "unexpected JPEG output size");
    c->row = malloc((size_t)width * components);
    if (!c->row) pc_jpeg_fail(common, PC_ERR_NOMEM, "out of memory");

    size_t plane = (size_t)width * height;
    const float k2 = 1.0f / (255.0f * 255.0f);
    while (c->d.output_scanline < height) {
        size_t y = c->d.output_scanline;
        JSAMPROW rowp = c->row;
        if (jpeg_read_scanlines(&c->d, &rowp, 1) != 1)
            pc_jpeg_fail(common, PC_ERR_TRUNCATED, "truncated JPEG data");
        float *r = out + y * width, *g = r + plane, *b = g + plane;
        const uint8_t *p = c->row;
        if (components == 1) {
            for (uint32_t x = 0; x < width; x++) r[x] = g[x] = b[x] = p[x] / 255.0f;
        } else if (components == 3) {
            for (uint32_t x = 0; x < width; x++, p += 3) {
                r[x] = p[0] / 255.0f;
                g[x] = p[1] / 255.0f;
                b[x] = p[2] / 255.0f;
            }
        } else if (cmyk && components == 4) {
            /* Adobe (inverted) CMYK, as Photoshop and PIL write it; PIL assumes this polarity
               for every CMYK JPEG and so do we. R = C'*K'/255 on the stored (inverted) values. */
            for (uint32_t x = 0; x < width; x++, p += 4) {
                float kk = (float)p[3];
                r[x] = p[0] * kk * k2;
                g[x] = p[1] * kk * k2;
                b[x] = p[2] * kk * k2;
            }
        } else {
            pc_jpeg_fail(common, PC_ERR_UNSUPPORTED, "unsupported JPEG component count");
        }
    }
    jpeg_finish_decompress(&c->d);
    jpeg_destroy_decompress(&c->d);
    free(c->row);
    free(c);
    return PC_OK;
}

int pc_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                   int subsample444, uint8_t **out, size_t *out_size, pc_result *result) {
    pc_clear_result(result);
    if (!rgb || !out || !out_size) return pc_set_error(result, PC_ERR_ARGUMENT, "null buffer");
    *out = NULL;
    *out_size = 0;
    if (quality < 1 || quality > 100)
        return pc_set_error(result, PC_ERR_ARGUMENT, "JPEG quality %d is outside 1...100", quality);
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        return pc_set_error(result, PC_ERR_ARGUMENT,
                            "%ux%u cannot be stored as JPEG (each side must be 1...%d)",
                            width, height, JPEG_MAX_DIMENSION);
    jpeg_ctx *c = calloc(1, sizeof *c);
    if (!c) return pc_set_error(result, PC_ERR_NOMEM, "out of memory");
    c->cc.err = setup_err(c, result);
    if (setjmp(c->err.jump)) {
        jpeg_destroy_compress(&c->cc);
        free(c->out);
        free(c);
        return result->status != PC_OK ? result->status : PC_ERR_CORRUPT;
    }
    jpeg_create_compress(&c->cc);
    jpeg_mem_dest(&c->cc, &c->out, &c->out_size);
    c->cc.image_width = width;
    c->cc.image_height = height;
    c->cc.input_components = 3;
    c->cc.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c->cc);
    jpeg_set_quality(&c->cc, quality, TRUE);
    c->cc.optimize_coding = TRUE;
    c->cc.dct_method = JDCT_ISLOW;
    int factor = subsample444 ? 1 : 2;
    c->cc.comp_info[0].h_samp_factor = factor;
    c->cc.comp_info[0].v_samp_factor = factor;
    c->cc.comp_info[1].h_samp_factor = 1;
    c->cc.comp_info[1].v_samp_factor = 1;
    c->cc.comp_info[2].h_samp_factor = 1;
    c->cc.comp_info[2].v_samp_factor = 1;
    jpeg_start_compress(&c->cc, TRUE);
    while (c->cc.next_scanline < height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c->cc.next_scanline * width * 3);
        jpeg_write_scanlines(&c->cc, &row, 1);
    }
    jpeg_finish_compress(&c->cc);
    jpeg_destroy_compress(&c->cc);
    *out = c->out;
    *out_size = (size_t)c->out_size;
    free(c);
    return PC_OK;
}
