/* placeholder: replaced by the real server */
int main(void) { return 0; }
