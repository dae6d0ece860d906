"""JSON-RPC 2.0 over HTTP and WebSocket, served on top of the `NodeBackend` protocol."""
