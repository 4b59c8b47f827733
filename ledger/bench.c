/* placeholder: replaced by the module implementation */
typedef int ledger_bench_placeholder;
