/* placeholder: replaced by the module implementation */
typedef int core_hclient_placeholder;
