/* placeholder: replaced by the module implementation */
typedef int ledger_accounts_placeholder;
