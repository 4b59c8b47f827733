/* placeholder: replaced by the module implementation */
typedef int ledger_query_placeholder;
