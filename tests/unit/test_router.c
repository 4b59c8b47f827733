#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "router.h"

static int tag_list, tag_get, tag_mine, tag_del, tag_root, tag_nested;

static int setup(void **state)
{
	struct router *r;
	if (router_new(&r) != ROUTER_OK)
		return -1;
	if (router_add(r, ROUTER_GET | ROUTER_POST, "/api/v1/orders", &tag_list) ||
	    router_add(r, ROUTER_GET, "/api/v1/orders/{id}", &tag_get) ||
	    router_add(r, ROUTER_GET, "/api/v1/orders/mine", &tag_mine) ||
	    router_add(r, ROUTER_DELETE, "/api/v1/orders/{id}", &tag_del) ||
	    router_add(r, ROUTER_GET, "/", &tag_root) ||
	    router_add(r, ROUTER_GET, "/api/v1/stores/{store}/products/{product}", &tag_nested))
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	router_free(*state);
	return 0;
}

static void test_literal_and_methods(void **state)
{
	struct router_match m;
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_list);
	assert_string_equal(m.pattern, "/api/v1/orders");
	assert_int_equal(router_match(*state, ROUTER_POST, "/api/v1/orders", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_list);
	assert_int_equal(router_match(*state, ROUTER_GET, "/", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_root);
}

static void test_params(void **state)
{
	struct router_match m;
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/42", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_get);
	assert_string_equal(router_param(&m, "id"), "42");
	assert_null(router_param(&m, "nope"));
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/stores/7/products/rendang%20padang", &m),
			 ROUTER_OK);
	assert_ptr_equal(m.data, &tag_nested);
	assert_string_equal(router_param(&m, "store"), "7");
	assert_string_equal(router_param(&m, "product"), "rendang padang");
}

static void test_literal_beats_param(void **state)
{
	struct router_match m;
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/mine", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_mine);
	/* DELETE has only the parameter route, which must still take "mine". */
	assert_int_equal(router_match(*state, ROUTER_DELETE, "/api/v1/orders/mine", &m), ROUTER_OK);
	assert_ptr_equal(m.data, &tag_del);
	assert_string_equal(router_param(&m, "id"), "mine");
}

static void test_not_found_and_method(void **state)
{
	struct router_match m;
	char allow[64];
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/nothing", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/1/extra", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_PUT, "/api/v1/orders", &m), ROUTER_EMETHOD);
	assert_int_equal(m.allowed, ROUTER_GET | ROUTER_POST);
	assert_string_equal(m.pattern, "/api/v1/orders");
	assert_string_equal(router_methods_text(m.allowed, allow, sizeof(allow)), "GET, POST");
	assert_int_equal(router_match(*state, ROUTER_POST, "/api/v1/orders/9", &m), ROUTER_EMETHOD);
	assert_int_equal(m.allowed, ROUTER_GET | ROUTER_DELETE);
	assert_string_equal(m.pattern, "/api/v1/orders/{id}");
}

static void test_bad_paths(void **state)
{
	struct router_match m;
	char big[ROUTER_PATH_MAX + 16];
	assert_int_equal(router_match(*state, ROUTER_GET, "", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "api/v1/orders", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api//v1/orders", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/", &m), ROUTER_ENOTFOUND);
	/* Bad escapes, an encoded slash or NUL never reach a handler. */
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/%zz", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/%2", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/a%2Fb", &m), ROUTER_ENOTFOUND);
	assert_int_equal(router_match(*state, ROUTER_GET, "/api/v1/orders/a%00", &m), ROUTER_ENOTFOUND);
	/* Over-long paths and values do not match. */
	big[0] = '/';
	memset(big + 1, 'a', sizeof(big) - 2);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(router_match(*state, ROUTER_GET, big, &m), ROUTER_ENOTFOUND);
	memcpy(big, "/api/v1/orders/", 15);
	memset(big + 15, 'x', ROUTER_VALUE_MAX);
	big[15 + ROUTER_VALUE_MAX] = '\0';
	assert_int_equal(router_match(*state, ROUTER_GET, big, &m), ROUTER_ENOTFOUND);
	big[15 + ROUTER_VALUE_MAX - 1] = '\0';
	assert_int_equal(router_match(*state, ROUTER_GET, big, &m), ROUTER_OK);
}

static void test_bad_patterns(void **state)
{
	struct router *r = *state;
	assert_int_equal(router_add(r, ROUTER_GET, "no-slash", NULL), ROUTER_EINVAL);
	assert_int_equal(router_add(r, ROUTER_GET, "/a//b", NULL), ROUTER_EINVAL);
	assert_int_equal(router_add(r, ROUTER_GET, "/a/{}", NULL), ROUTER_EINVAL);
	assert_int_equal(router_add(r, ROUTER_GET, "/a/{open", NULL), ROUTER_EINVAL);
	assert_int_equal(router_add(r, 0, "/a", NULL), ROUTER_EINVAL);
	/* The same shape with an overlapping method is a duplicate, whatever the parameter name. */
	assert_int_equal(router_add(r, ROUTER_GET, "/api/v1/orders/{other}", NULL), ROUTER_EINVAL);
	assert_int_equal(router_add(r, ROUTER_PUT, "/api/v1/orders/{other}", &tag_del), ROUTER_OK);
}

static void test_values_bound(void **state)
{
	struct router *r;
	struct router_match m;
	char path[1024];
	char v[ROUTER_VALUE_MAX];
	(void)state;
	assert_int_equal(router_new(&r), ROUTER_OK);
	assert_int_equal(router_add(r, ROUTER_GET, "/{a}/{b}/{c}", NULL), ROUTER_OK);
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	/* Three values of 255 bytes do not fit the match's 512 bytes of values together. */
	snprintf(path, sizeof(path), "/%s/%s/%s", v, v, v);
	assert_int_equal(router_match(r, ROUTER_GET, path, &m), ROUTER_ENOTFOUND);
	snprintf(path, sizeof(path), "/%s/%.200s/c", v, v);
	assert_int_equal(router_match(r, ROUTER_GET, path, &m), ROUTER_OK);
	assert_int_equal(strlen(router_param(&m, "b")), 200);
	assert_int_equal(strlen(router_param(&m, "a")), ROUTER_VALUE_MAX - 1);
	assert_string_equal(router_param(&m, "c"), "c");
	router_free(r);
}

static void test_too_many_params(void **state)
{
	(void)state;
	struct router *r;
	assert_int_equal(router_new(&r), ROUTER_OK);
	assert_int_equal(router_add(r, ROUTER_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", NULL), ROUTER_OK);
	assert_int_equal(router_add(r, ROUTER_GET, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", NULL), ROUTER_EINVAL);
	router_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_literal_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_literal_beats_param, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_patterns, setup, teardown),
		cmocka_unit_test(test_values_bound),
		cmocka_unit_test(test_too_many_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
