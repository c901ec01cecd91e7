#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void pc_clear_result(pc_result *result) {
    if (!result) return;
    result->status = PC_OK;
    result->message[0] = '\0';
}

int pc_set_error(pc_result *result, int status, const char *format, ...) {
    if (!result) return status;
    result->status = status;
    va_list args;
    va_start(args, format);
    vsnprintf(result->message, PC_MESSAGE_SIZE, format, args);
    va_end(args);
    /* Keep it to one line. */
    for (char *p = result->message; *p; p++) {
        if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return status;
}

int pc_detect_format(const uint8_t *data, size_t size) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (!data) return PC_FORMAT_UNKNOWN;
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) return PC_FORMAT_PNG;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return PC_FORMAT_JPEG;
    return PC_FORMAT_UNKNOWN;
}

static uint32_t rd16(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) : ((uint32_t)p[0] << 8) | (uint32_t)p[1];
}

static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24)
              : ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int pc_tiff_orientation(const uint8_t *t, size_t n) {
    if (!t || n < 8) return 1;
    int le;
    if (t[0] == 'I' && t[1] == 'I') le = 1;
    else if (t[0] == 'M' && t[1] == 'M') le = 0;
    else return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd < 8 || (size_t)ifd + 2 > n) return 1;
    uint32_t count = rd16(t + ifd, le);
    for (uint32_t i = 0; i < count; i++) {
        size_t off = (size_t)ifd + 2 + 12 * (size_t)i;
        if (off + 12 > n) break;
        if (rd16(t + off, le) != 0x0112) continue;
        uint32_t type = rd16(t + off + 2, le);
        uint32_t value;
        if (type == 3) value = rd16(t + off + 8, le);        /* SHORT (the standard type) */
        else if (type == 4) value = rd32(t + off + 8, le);   /* LONG, seen in some writers */
        else return 1;
        return (value >= 1 && value <= 8) ? (int)value : 1;
    }
    return 1;
}

int pc_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result) {
    pc_clear_result(result);
    if (!info) return pc_set_error(result, PC_ERR_ARGUMENT, "no info struct");
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    switch (pc_detect_format(data, size)) {
    case PC_FORMAT_PNG: return pc_png_probe(data, size, info, result);
    case PC_FORMAT_JPEG: return pc_jpeg_probe(data, size, info, result);
    default: return pc_set_error(result, PC_ERR_UNKNOWN_FORMAT, "not a PNG or JPEG file");
    }
}

int pc_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
              uint32_t expected_width, uint32_t expected_height,
              float *out, pc_result *result) {
    pc_clear_result(result);
    switch (pc_detect_format(data, size)) {
    case PC_FORMAT_PNG:
        return pc_png_decode(data, size, max_pixels, expected_width, expected_height, out, result);
    case PC_FORMAT_JPEG:
        return pc_jpeg_decode(data, size, max_pixels, expected_width, expected_height, out, result);
    default: return pc_set_error(result, PC_ERR_UNKNOWN_FORMAT, "not a PNG or JPEG file");
    }
}

void pc_free(void *pointer) { free(pointer); }
