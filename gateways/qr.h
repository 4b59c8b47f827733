/*
 * qr: QR code images of payloads (libqrencode), for screens and print.
 */
#ifndef BANGSOLEH_QR_H
#define BANGSOLEH_QR_H

#include <stddef.h>

#define QR_OK 0
#define QR_EINVAL (-1)   /* empty text, more than level M holds (2331 bytes), or bad sizes (module 1-64, quiet 0-16) */
#define QR_ENOMEM (-2)

/*
 * An SVG of `text` (byte mode, error correction level M), each module
 * `module` user units wide, with a quiet zone of `quiet` modules (4 is the
 * standard) around it, black on white, shape-rendering crispEdges. OUT:
 * *svg (malloc'd, NUL-terminated; caller frees), *len. Returns 0 or QR_E*.
 */
int qr_svg(const char *text, unsigned module, unsigned quiet, char **svg, size_t *len);

#endif
