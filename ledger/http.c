/* placeholder: replaced by the module implementation */
typedef int ledger_http_placeholder;
