/* placeholder: replaced by the module implementation */
typedef int core_crypto_placeholder;
