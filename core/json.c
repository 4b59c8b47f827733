/* placeholder: replaced by the module implementation */
typedef int core_json_placeholder;
