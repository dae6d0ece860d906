"""Blocks as the chain sees them: header, body, commit seals, roots and the state commitment."""
