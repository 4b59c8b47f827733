/* placeholder: replaced by the module implementation */
typedef int ledger_verify_placeholder;
