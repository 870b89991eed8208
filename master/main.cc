// Placeholder entry point while the worker is being built.
int main() { return 0; }
