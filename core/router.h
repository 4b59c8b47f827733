/*
 * router: maps a method and a path to a route, with path parameters.
 *
 * Patterns are absolute paths whose segments are literals or `{name}`
 * parameters: "/api/v1/orders/{id}". When several patterns match a path,
 * the most specific wins: comparing segment by segment from the left, a
 * literal beats a parameter. A path that matches some pattern but none with
 * the request's method is a "method not allowed", with the allowed methods.
 * Parameter values are percent-decoded and may not contain '/' or NUL.
 *
 * Bounds: paths up to ROUTER_PATH_MAX bytes and ROUTER_SEGMENTS_MAX
 * segments, ROUTER_PARAMS_MAX parameters per pattern, values up to
 * ROUTER_VALUE_MAX bytes each and ROUTER_VALUES_MAX together; longer input
 * does not match.
 */
#ifndef BANGSOLEH_ROUTER_H
#define BANGSOLEH_ROUTER_H

#include <stddef.h>

#define ROUTER_PATH_MAX 2048
#define ROUTER_SEGMENTS_MAX 16
#define ROUTER_PARAMS_MAX 8
#define ROUTER_NAME_MAX 32
#define ROUTER_VALUE_MAX 256
#define ROUTER_VALUES_MAX 512   /* all decoded values of one match, with their NULs */
#define ROUTER_ROUTES_MAX 512

#define ROUTER_OK 0
#define ROUTER_ENOTFOUND (-1)  /* no pattern matches the path */
#define ROUTER_EMETHOD (-2)    /* a pattern matches, not with this method */
#define ROUTER_EINVAL (-3)     /* bad pattern or too many routes */
#define ROUTER_ENOMEM (-4)

/* Methods, as a bit set. */
enum router_method {
	ROUTER_GET = 1 << 0,
	ROUTER_POST = 1 << 1,
	ROUTER_PUT = 1 << 2,
	ROUTER_DELETE = 1 << 3,
	ROUTER_PATCH = 1 << 4,
};

struct router;

struct router_match {
	void *data;                 /* what router_add was given */
	const char *pattern;        /* the matched pattern, owned by the router (on ROUTER_EMETHOD: the
				       most specific pattern of the path, for other methods) */
	unsigned allowed;           /* on ROUTER_EMETHOD: methods the path accepts */
	size_t nparams;
	struct {
		const char *name;   /* owned by the router */
		const char *value;  /* points into values */
	} params[ROUTER_PARAMS_MAX];
	char values[ROUTER_VALUES_MAX];
};

/* OUT: *out, freed with router_free. Returns 0 or ROUTER_ENOMEM. */
int router_new(struct router **out);
void router_free(struct router *r);

/*
 * Adds a route for the methods in `methods` (a set of router_method bits).
 * The pattern is copied; `data` is lent and handed back by router_match.
 * Returns ROUTER_EINVAL for a malformed pattern, a duplicate (same pattern
 * and an overlapping method) or a full table.
 */
int router_add(struct router *r, unsigned methods, const char *pattern, void *data);

/*
 * Matches one method bit and a path (without query string). OUT: *m.
 * Returns ROUTER_OK, ROUTER_ENOTFOUND or ROUTER_EMETHOD.
 */
int router_match(const struct router *r, unsigned method, const char *path, struct router_match *m);

/* The value of parameter `name` in a match, or NULL. */
const char *router_param(const struct router_match *m, const char *name);

/* Writes the methods of a set as "GET, POST" into buf. Returns buf. */
char *router_methods_text(unsigned methods, char *buf, size_t cap);

#endif
