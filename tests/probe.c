/* probe.c - placeholder; the isolation tests grow it. */
int main(void) { return 0; }
