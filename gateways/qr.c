/*
 * qr: an SVG of a QR code (libqrencode, byte mode, level M).
 *
 * Dark modules are drawn as one <path>, one rectangle per horizontal run of
 * dark modules, on a white background rectangle that includes the quiet
 * zone. The SVG is written twice by the same function: once to measure it,
 * once into a buffer of exactly that size.
 */
#include "qr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#define QR_TEXT_MAX 2953     /* byte-mode capacity of the largest symbol (version 40) */
#define QR_MODULE_MAX 64     /* user units per module */
#define QR_QUIET_MAX 16      /* modules of quiet zone */

/* Output position; measuring only while buf is NULL. */
struct svg_out {
	char *buf;
	size_t cap;
	size_t len;
};

static void svg_put(struct svg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->buf != NULL)
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static bool dark(const QRcode *qr, unsigned x, unsigned y)
{
	return qr->data[(size_t)y * (size_t)qr->width + x] & 1;
}

static void svg_write(const QRcode *qr, unsigned module, unsigned quiet, struct svg_out *o)
{
	unsigned width = (unsigned)qr->width;
	unsigned size = (width + 2 * quiet) * module;

	svg_put(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\""
		" shape-rendering=\"crispEdges\"><rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>"
		"<path fill=\"#000\" d=\"", size, size, size, size, size, size);
	for (unsigned y = 0; y < width; y++) {
		unsigned x = 0;

		while (x < width) {
			unsigned start = x;

			while (x < width && dark(qr, x, y))
				x++;
			if (x > start) {
				unsigned run = (x - start) * module;

				svg_put(o, "M%u %uh%uv%uh-%uz", (start + quiet) * module, (y + quiet) * module, run,
					module, run);
			} else {
				x++;
			}
		}
	}
	svg_put(o, "\"/></svg>\n");
}

int qr_svg(const char *text, unsigned module, unsigned quiet, char **svg, size_t *len)
{
	struct svg_out o = { NULL, 0, 0 };
	QRcode *qr;
	size_t text_len;
	int rc = QR_OK;

	if (svg != NULL)
		*svg = NULL;
	if (text == NULL || svg == NULL || len == NULL || module == 0 || module > QR_MODULE_MAX ||
	    quiet > QR_QUIET_MAX)
		return QR_EINVAL;
	text_len = strnlen(text, QR_TEXT_MAX + 1);
	if (text_len == 0 || text_len > QR_TEXT_MAX)
		return QR_EINVAL;
	qr = QRcode_encodeData((int)text_len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
	if (qr == NULL)
		return errno == ENOMEM ? QR_ENOMEM : QR_EINVAL;
	svg_write(qr, module, quiet, &o);
	o.cap = o.len + 1;
	o.len = 0;
	o.buf = malloc(o.cap);
	if (o.buf == NULL) {
		rc = QR_ENOMEM;
		goto free_qr;
	}
	svg_write(qr, module, quiet, &o);
	*svg = o.buf;
	*len = o.len;
free_qr:
	QRcode_free(qr);
	return rc;
}
