/*
 * role: the roles of Bang Soleh's users, as bits so a route can name the
 * set of roles that may call it. A user has exactly one role.
 */
#ifndef BANGSOLEH_ROLE_H
#define BANGSOLEH_ROLE_H

#define ROLE_SHOPPER (1u << 0)
#define ROLE_MERCHANT (1u << 1)
#define ROLE_COURIER (1u << 2)
#define ROLE_AUDITOR (1u << 3)
#define ROLE_ADMIN (1u << 4)
/* Any signed-in user. */
#define ROLE_ANY (ROLE_SHOPPER | ROLE_MERCHANT | ROLE_COURIER | ROLE_AUDITOR | ROLE_ADMIN)
/* No sign-in needed. */
#define ROLE_PUBLIC 0u

/* The bit of a role name ("shopper", ...), or 0 when unknown. */
unsigned role_parse(const char *name);
/* The name of one role bit, or NULL. */
const char *role_name(unsigned role);

#endif
