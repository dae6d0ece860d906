"""Matching logs against eth_getLogs / eth_subscribe("logs") criteria (address list, positional topic ORs).

Typed values only: node/rpc/log_query.py parses the JSON-RPC filter object into a LogCriteria once.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.chain.receipt import Log


@dataclass(frozen=True, slots=True)
class LogCriteria:
    """Addresses (empty: any) and topics by position (None: any, else any of the set)."""

    addresses: frozenset[bytes] = frozenset()
    topics: tuple[frozenset[bytes] | None, ...] = ()

    def matches(self, log: Log) -> bool:
        if self.addresses and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(want is None or log.topics[i] in want for i, want in enumerate(self.topics))
