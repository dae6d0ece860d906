"""Signed Ethereum transactions: the decoded model and the decoder that checks them."""
