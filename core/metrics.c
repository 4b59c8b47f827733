/* placeholder: replaced by the module implementation */
typedef int core_metrics_placeholder;
