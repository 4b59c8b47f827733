/*
 * static: the web front end's files, served by the API's own server on the
 * same origin.
 *
 * Every file under the root is read into memory once, at start, with its
 * type (from the extension), a strong ETag (from a SHA-256 of the bytes)
 * and, for text of STATIC_GZIP_MIN bytes or more, a gzip copy when it is
 * smaller. Each file then becomes one exact GET (and HEAD) route of the
 * server: "/" is index.html, "/js/api.js" is ROOT/js/api.js. So nothing is
 * read from disk while serving, and no request path is ever turned into a
 * file name: "..", encoded or not, and any path that is not one of the
 * files is the server's ordinary 404. Changed files are seen after a restart.
 *
 * What is taken: regular files and folders whose names are 1 to
 * STATIC_NAME_MAX of [A-Za-z0-9._-] and do not start with '.', down to
 * STATIC_DEPTH_MAX folders; symbolic links only when they resolve to a
 * regular file inside the root. Top-level names that the API owns ("api",
 * "metrics", "healthz") are refused. Anything else is skipped with a warning.
 *
 * Bounds: STATIC_FILES_MAX files, STATIC_FILE_MAX bytes each and
 * STATIC_TOTAL_MAX together (the uncompressed bytes); over any of them the
 * root is refused and the server does not start. The file count is kept
 * well under the server's route table (ROUTER_ROUTES_MAX) and the metrics'
 * series (each route is its own `route` label).
 */
#ifndef BANGSOLEH_STATIC_H
#define BANGSOLEH_STATIC_H

#include <stddef.h>

struct httpd;
struct static_files;

#define STATIC_FILES_MAX 128
#define STATIC_FILE_MAX (1024 * 1024)
#define STATIC_TOTAL_MAX (16 * 1024 * 1024)
#define STATIC_DEPTH_MAX 8
#define STATIC_NAME_MAX 64
#define STATIC_URL_MAX 256
#define STATIC_GZIP_MIN 1024

#define STATIC_OK 0
#define STATIC_EINVAL (-1)   /* the root or a file breaks a rule above; logged */
#define STATIC_EIO (-2)      /* a file or folder cannot be read; logged */
#define STATIC_ENOMEM (-3)

/*
 * Loads the files under `root`. An empty root means the default folder:
 * the source tree's web/ when this binary runs from its build folder (so
 * `./dev run` and the tests serve the checkout), otherwise the installed
 * DATADIR/bangsoleh/web; a missing default folder is not an error (no
 * files are served, with a warning), a missing named root is. Reasons are
 * logged. OUT: *out, freed with static_free. Returns 0 or STATIC_E*.
 */
int static_open(const char *root, struct static_files **out);

/*
 * Registers one public GET route per file on the server. The files are
 * lent to the server: free them only after httpd_free. Returns 0 or
 * STATIC_EINVAL (a route the server refused, e.g. its route table is full).
 */
int static_attach(struct static_files *s, struct httpd *h);

/* NULL is allowed. */
void static_free(struct static_files *s);

#endif
