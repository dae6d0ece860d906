"""Reconciliation of a bank's books against the chain: matching rules, breaks, statements, runs."""
