/* placeholder: replaced by the module implementation */
typedef int core_log_placeholder;
