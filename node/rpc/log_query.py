"""Log filter criteria: parse them strictly, resolve block tags against the head, and bound what a query may cost.

Shared by eth_getLogs, the polled filters (eth_newFilter) and `logs` subscriptions, so all three read the
criteria identically, and hand the node typed values (node.rpc.backend.api.LogQuery, node.rpc.log_filter.LogCriteria).
"""

from __future__ import annotations

from dataclasses import dataclass

from node.errors import InvalidParams
from node.rpc.backend.api import BlockTag, JsonDict, LogQuery
from node.rpc.errors import LimitExceeded
from node.rpc.limits import RpcLimits
from node.rpc.log_filter import LogCriteria
from node.rpc.params import json_type, parse_address, parse_block_number, parse_hash

MAX_TOPICS = 4
_FILTER_KEYS = frozenset({"fromBlock", "toBlock", "blockHash", "address", "topics"})


@dataclass(frozen=True)
class LogFilter:
    """Parsed criteria. Topics: one entry per position, None matching anything, else any of the listed hashes."""

    from_block: BlockTag | None = None
    to_block: BlockTag | None = None
    block_hash: bytes | None = None
    addresses: tuple[bytes, ...] = ()
    topics: tuple[tuple[bytes, ...] | None, ...] = ()

    def match_criteria(self) -> LogCriteria:
        """What a log must match; trailing wildcard positions dropped, so they do not demand topics."""
        topics = [None if position is None else frozenset(position) for position in self.topics]
        while topics and topics[-1] is None:
            topics.pop()
        return LogCriteria(frozenset(self.addresses), tuple(topics))


def parse_log_filter(value: object, what: str) -> LogFilter:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid {what}: expected a filter object, got {json_type(value)}")
    unknown = set(value) - _FILTER_KEYS
    if unknown:
        raise InvalidParams(f"invalid {what}: unknown filter field(s) {', '.join(sorted(unknown))}")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise InvalidParams(f"invalid {what}: cannot specify both blockHash and fromBlock/toBlock")
        block_hash = parse_hash(value["blockHash"], f"{what}.blockHash")
    return LogFilter(
        from_block=_optional_block(value.get("fromBlock"), f"{what}.fromBlock"),
        to_block=_optional_block(value.get("toBlock"), f"{what}.toBlock"),
        block_hash=block_hash,
        addresses=_parse_addresses(value.get("address"), f"{what}.address"),
        topics=_parse_topics(value.get("topics"), f"{what}.topics"),
    )


def _optional_block(value: object, what: str) -> BlockTag | None:
    return None if value is None else parse_block_number(value, what)


def _parse_addresses(value: object, what: str) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(parse_address(item, f"{what}[{i}]") for i, item in enumerate(value))
    return (parse_address(value, what),)


def _parse_topics(value: object, what: str) -> tuple[tuple[bytes, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParams(f"invalid {what}: expected an array, got {json_type(value)}")
    if len(value) > MAX_TOPICS:
        raise InvalidParams(f"invalid {what}: too many topics ({len(value)}), at most {MAX_TOPICS}")
    positions: list[tuple[bytes, ...] | None] = []
    for i, position in enumerate(value):
        if position is None:
            positions.append(None)
        elif isinstance(position, list):
            # A null inside an OR-list matches anything, so the whole position does (geth's reading).
            if any(item is None for item in position) or not position:
                positions.append(None)
            else:
                positions.append(tuple(parse_hash(t, f"{what}[{i}][{j}]") for j, t in enumerate(position)))
        else:
            positions.append((parse_hash(position, f"{what}[{i}]"),))
    return tuple(positions)


def resolve_block(tag: BlockTag, head: int) -> int:
    """A parsed tag or number as a number; with BFT finality safe, finalized and pending read as the head."""
    if isinstance(tag, int):
        return tag
    if tag == "earliest":
        return 0
    return head  # latest, safe, finalized, pending


def range_criteria(spec: LogFilter, first: int, last: int) -> LogQuery:
    return LogQuery(spec.match_criteria(), first, last)


def check_range(first: int, last: int, limits: RpcLimits) -> None:
    span = last - first + 1
    if span > limits.max_log_block_range:
        raise LimitExceeded(
            f"block range too large: {span} blocks, limit {limits.max_log_block_range}",
            data={"fromBlock": hex(first), "toBlock": hex(last), "limit": limits.max_log_block_range},
        )


def check_results(logs: list[JsonDict], limits: RpcLimits) -> list[JsonDict]:
    if len(logs) > limits.max_log_results:
        raise LimitExceeded(
            f"query returned more than {limits.max_log_results} results; narrow the block range or the filter",
            data={"limit": limits.max_log_results},
        )
    return logs


def query_criteria(spec: LogFilter, head: int, limits: RpcLimits) -> LogQuery | None:
    """The backend query for a one-off eth_getLogs, or None when the range holds no block yet."""
    if spec.block_hash is not None:
        return LogQuery(spec.match_criteria(), block_hash=spec.block_hash)
    first = resolve_block("latest" if spec.from_block is None else spec.from_block, head)
    last = resolve_block("latest" if spec.to_block is None else spec.to_block, head)
    if first > head:
        return None  # nothing there yet; pollers ask for head+1 routinely
    if first > last:
        raise InvalidParams(f"invalid block range params: fromBlock {hex(first)} is after toBlock {hex(last)}")
    last = min(last, head)
    check_range(first, last, limits)
    return range_criteria(spec, first, last)
