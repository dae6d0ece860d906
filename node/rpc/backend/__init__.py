"""What JSON-RPC reads and writes through: the `NodeBackend` protocol and its implementations on the engine."""
