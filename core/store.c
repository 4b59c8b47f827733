/* placeholder: replaced by the module implementation */
typedef int core_store_placeholder;
