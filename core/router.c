#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct router_segment {
	char *text;        /* literal text, or the parameter name */
	size_t len;
	bool param;
};

struct router_route {
	char *pattern;
	unsigned methods;
	void *data;
	size_t nsegments;
	struct router_segment segments[ROUTER_SEGMENTS_MAX];
};

struct router {
	struct router_route *routes[ROUTER_ROUTES_MAX];
	size_t nroutes;
};

/* A path split in place: segment start offsets and lengths. */
struct router_path {
	size_t nsegments;
	const char *start[ROUTER_SEGMENTS_MAX];
	size_t len[ROUTER_SEGMENTS_MAX];
};

int router_new(struct router **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? ROUTER_OK : ROUTER_ENOMEM;
}

static void router_route_free(struct router_route *rt)
{
	if (!rt)
		return;
	for (size_t i = 0; i < rt->nsegments; i++)
		free(rt->segments[i].text);
	free(rt->pattern);
	free(rt);
}

void router_free(struct router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nroutes; i++)
		router_route_free(r->routes[i]);
	free(r);
}

/* Splits "/a/b/c" into segments; "/" has none. Rejects empty segments and over-long paths. */
static int router_split(const char *path, struct router_path *p)
{
	size_t total = strnlen(path, ROUTER_PATH_MAX + 1);
	const char *s = path;
	if (total > ROUTER_PATH_MAX || path[0] != '/')
		return -1;
	p->nsegments = 0;
	if (total == 1)
		return 0;
	while (*s == '/') {
		const char *seg = s + 1;
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);
		if (len == 0 || p->nsegments == ROUTER_SEGMENTS_MAX)
			return -1;
		p->start[p->nsegments] = seg;
		p->len[p->nsegments] = len;
		p->nsegments++;
		s = seg + len;
	}
	return 0;
}

static bool router_same_shape(const struct router_route *a, const struct router_route *b)
{
	if (a->nsegments != b->nsegments)
		return false;
	for (size_t i = 0; i < a->nsegments; i++) {
		if (a->segments[i].param != b->segments[i].param)
			return false;
		if (!a->segments[i].param && strcmp(a->segments[i].text, b->segments[i].text) != 0)
			return false;
	}
	return true;
}

int router_add(struct router *r, unsigned methods, const char *pattern, void *data)
{
	struct router_path p;
	struct router_route *rt;
	size_t nparams = 0;
	if (methods == 0 || r->nroutes == ROUTER_ROUTES_MAX || router_split(pattern, &p) != 0)
		return ROUTER_EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt || !(rt->pattern = strdup(pattern)))
		goto free_route;
	rt->methods = methods;
	rt->data = data;
	for (size_t i = 0; i < p.nsegments; i++) {
		struct router_segment *seg = &rt->segments[i];
		const char *t = p.start[i];
		size_t len = p.len[i];
		seg->param = t[0] == '{';
		if (seg->param) {
			if (len < 3 || t[len - 1] != '}' || len - 2 >= ROUTER_NAME_MAX ||
			    ++nparams > ROUTER_PARAMS_MAX)
				goto free_route;
			t++;
			len -= 2;
		}
		seg->text = strndup(t, len);
		seg->len = len;
		rt->nsegments++;
		if (!seg->text)
			goto free_route;
	}
	for (size_t i = 0; i < r->nroutes; i++)
		if ((r->routes[i]->methods & methods) && router_same_shape(r->routes[i], rt))
			goto free_route;
	r->routes[r->nroutes++] = rt;
	return ROUTER_OK;
free_route:
	router_route_free(rt);
	return ROUTER_EINVAL;
}

static int router_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes a segment into out; fails on bad escapes, '/', NUL or overflow. */
static int router_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = router_hex(s[i + 1]);
			lo = router_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
			if (c == '/' || c == '\0')
				return -1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* Specificity: a bit per segment, set for literals, the first segment highest. */
static unsigned router_specificity(const struct router_route *rt)
{
	unsigned s = 0;
	for (size_t i = 0; i < rt->nsegments; i++)
		s = (s << 1) | (rt->segments[i].param ? 0u : 1u);
	return s;
}

static bool router_route_matches(const struct router_route *rt, const struct router_path *p)
{
	if (rt->nsegments != p->nsegments)
		return false;
	for (size_t i = 0; i < rt->nsegments; i++) {
		const struct router_segment *seg = &rt->segments[i];
		if (!seg->param && (seg->len != p->len[i] || memcmp(seg->text, p->start[i], seg->len) != 0))
			return false;
	}
	return true;
}

int router_match(const struct router *r, unsigned method, const char *path, struct router_match *m)
{
	struct router_path p;
	const struct router_route *best = NULL, *best_any = NULL;
	unsigned best_spec = 0, any_spec = 0;
	unsigned allowed = 0;
	m->data = NULL;
	m->pattern = NULL;
	m->allowed = 0;
	m->nparams = 0;
	if (router_split(path, &p) != 0)
		return ROUTER_ENOTFOUND;
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct router_route *rt = r->routes[i];
		unsigned spec;
		if (!router_route_matches(rt, &p))
			continue;
		allowed |= rt->methods;
		spec = router_specificity(rt);
		if (!best_any || spec > any_spec) {
			best_any = rt;
			any_spec = spec;
		}
		if (!(rt->methods & method))
			continue;
		if (!best || spec > best_spec) {
			best = rt;
			best_spec = spec;
		}
	}
	if (!best) {
		m->allowed = allowed;
		m->pattern = best_any ? best_any->pattern : NULL;
		return allowed ? ROUTER_EMETHOD : ROUTER_ENOTFOUND;
	}
	for (size_t i = 0, used = 0; i < best->nsegments; i++) {
		char *value = m->values + used;
		size_t room = sizeof(m->values) - used;
		if (!best->segments[i].param)
			continue;
		if (router_decode(p.start[i], p.len[i], value, room < ROUTER_VALUE_MAX ? room : ROUTER_VALUE_MAX) != 0)
			return ROUTER_ENOTFOUND;
		m->params[m->nparams].name = best->segments[i].text;
		m->params[m->nparams].value = value;
		m->nparams++;
		used += strlen(value) + 1;
	}
	m->data = best->data;
	m->pattern = best->pattern;
	m->allowed = allowed;
	return ROUTER_OK;
}

const char *router_param(const struct router_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}

char *router_methods_text(unsigned methods, char *buf, size_t cap)
{
	static const char *const names[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
	size_t n = 0;
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(methods & (1u << i)))
			continue;
		int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", names[i]);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	return buf;
}
