/* placeholder: replaced by the module implementation */
typedef int core_router_placeholder;
