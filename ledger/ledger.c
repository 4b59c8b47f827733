/* placeholder: replaced by the module implementation */
typedef int ledger_ledger_placeholder;
