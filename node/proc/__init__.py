"""The node's other processes: the worker pool for batch decoding, the child process loop, start-up heap freezing."""
