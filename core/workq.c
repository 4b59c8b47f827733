/* placeholder: replaced by the module implementation */
typedef int core_workq_placeholder;
