/* placeholder: replaced by the module implementation */
typedef int core_record_placeholder;
