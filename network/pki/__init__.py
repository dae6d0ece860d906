"""Consortium PKI: CA -> agency (bank) -> node certificates, identity binding and revocation."""
