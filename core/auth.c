/* placeholder: replaced by the module implementation */
typedef int core_auth_placeholder;
