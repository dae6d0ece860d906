"""Follows finalized blocks of a Colend node and turns the suite's events into normalized records."""
