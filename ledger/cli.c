/* placeholder: replaced by the module implementation */
typedef int ledger_cli_placeholder;
