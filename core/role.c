#include "role.h"

#include <string.h>

static const char *const role_names[] = { "shopper", "merchant", "courier", "auditor", "admin" };

unsigned role_parse(const char *name)
{
	for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *role_name(unsigned role)
{
	for (unsigned i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (role == 1u << i)
			return role_names[i];
	return NULL;
}
