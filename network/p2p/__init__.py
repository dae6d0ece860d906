"""The consortium's p2p layer: mutually authenticated WebSockets over TLS 1.3 between member nodes."""
