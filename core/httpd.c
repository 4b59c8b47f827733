/* placeholder: replaced by the module implementation */
typedef int core_httpd_placeholder;
