#ifndef PASTICHE_CODECS_INTERNAL_H
#define PASTICHE_CODECS_INTERNAL_H

#include <stdarg.h>
#include "pastiche_codecs.h"

/* Sets result->status and a formatted message (truncated to PC_MESSAGE_SIZE). Returns status. */
int pc_set_error(pc_result *result, int status, const char *format, ...);
void pc_clear_result(pc_result *result);

/* EXIF orientation (1..8) from a TIFF structure ("II*\0" or "MM\0*" header), IFD0 tag 0x0112;
   1 when absent, malformed or out of range. */
int pc_tiff_orientation(const uint8_t *tiff, size_t size);

int pc_png_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result);
int pc_jpeg_probe(const uint8_t *data, size_t size, pc_info *info, pc_result *result);

#endif
