/* placeholder: replaced by the module implementation */
typedef int ledger_transfers_placeholder;
