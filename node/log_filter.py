"""Matching logs against eth_getLogs / eth_subscribe("logs") criteria (address list, positional topic ORs)."""

from __future__ import annotations

from dataclasses import dataclass

from node.backend_api import JsonDict
from node.chain.receipt import Log
from node.errors import InvalidParams


@dataclass(frozen=True, slots=True)
class LogCriteria:
    addresses: frozenset[bytes]
    topics: tuple[frozenset[bytes] | None, ...]

    def matches(self, log: Log) -> bool:
        if self.addresses and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(want is None or log.topics[i] in want for i, want in enumerate(self.topics))


def _hex(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * size:
        raise InvalidParams(f"invalid {what}: {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise InvalidParams(f"invalid {what}: {value!r}") from exc


def parse_criteria(criteria: JsonDict) -> LogCriteria:
    raw_addr = criteria.get("address")
    if raw_addr is None:
        addresses: list = []
    elif isinstance(raw_addr, list):
        addresses = raw_addr
    else:
        addresses = [raw_addr]
    topics: list[frozenset[bytes] | None] = []
    for position in criteria.get("topics") or []:
        if position is None:
            topics.append(None)
        elif isinstance(position, list):
            topics.append(frozenset(_hex(t, 32, "topic") for t in position) if position else None)
        else:
            topics.append(frozenset([_hex(position, 32, "topic")]))
    while topics and topics[-1] is None:
        topics.pop()
    return LogCriteria(frozenset(_hex(a, 20, "address") for a in addresses), tuple(topics))
