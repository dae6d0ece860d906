"""Running transactions in pyrevm: the executor, permission checks and reading what a block touched."""
