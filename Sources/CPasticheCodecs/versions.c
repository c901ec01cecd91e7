#include <stdio.h>
#include <png.h>
#include <jpeglib.h>

#include "pastiche_codecs.h"

const char *pc_libpng_version(void) { return png_get_libpng_ver(NULL); }

int pc_libjpeg_turbo_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return 0;
#endif
}

int pc_libjpeg_api_version(void) { return JPEG_LIB_VERSION; }
