/* placeholder: replaced by the module implementation */
typedef int core_config_placeholder;
