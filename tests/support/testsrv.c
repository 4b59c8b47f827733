/* placeholder: replaced by the test support code */
typedef int testsrv_placeholder;
