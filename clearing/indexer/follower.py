"""Follows a node's finalized blocks over JSON-RPC (web3.py, async) and fills the index, resumably.

Blocks on a BFT chain are final once they exist, so the follower never rewinds. It reads logs of the suite's
contracts in block ranges, decodes each block's logs into records and applies them with the block number as
cursor, in one atomic write per block; a range without suite logs only advances the cursor. Stopping at any
point and starting again continues at cursor + 1 and ends with the same index as an uninterrupted run.

Only standard JSON-RPC is read. The suite's addresses and first block come from a deployment file (checked
against the node: chain id and code) or, for a Colend node without one, from its `colend_status`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from web3 import AsyncWeb3, Web3

from clearing.errors import NodeUnavailable
from clearing.indexer.decode import BlockDecoder, ChainLog
from clearing.indexer.store import IndexStore
from contracts.abi import DecodedEvent, SuiteCodec
from contracts.errors import ContractsError

DEFAULT_RANGE = 500

Progress = Callable[[int, int], None]  # (last applied block, chain head)


@dataclass(frozen=True)
class SyncReport:
    """Where the index stands against the chain after a sync."""

    first_block: int | None
    last_block: int | None
    head: int
    blocks_applied: int
    records_written: int

    @property
    def lag(self) -> int:
        """Blocks the index is behind the node's head (0 = caught up)."""
        return self.head - (self.last_block if self.last_block is not None else -1)


class EventSink(Protocol):
    """Another projection of the chain's events beside the index (e.g. the settlement view), with its own
    resume cursor; `apply_block` must be atomic with that cursor and a no-op at or below it."""

    def last_block(self) -> int | None: ...

    def apply_block(self, number: int, events: Sequence[DecodedEvent]) -> bool: ...


class ChainFollower:
    def __init__(
        self,
        w3: AsyncWeb3,
        index: IndexStore,
        codec: SuiteCodec,
        addresses: Mapping[str, str],
        *,
        range_size: int = DEFAULT_RANGE,
        currency: str = "CNY",
        start_block: int = 0,
        sinks: Sequence[EventSink] = (),
    ) -> None:
        self.w3 = w3
        self.start_block = start_block
        self.index = index
        self.codec = codec
        self.addresses = [AsyncWeb3.to_checksum_address(a) for a in sorted(addresses.values())]
        self.decoder = BlockDecoder(codec, index, currency=currency)
        self.range_size = range_size
        self.sinks = tuple(sinks)

    def _cursor(self) -> int | None:
        """The lowest cursor of the index and the sinks: where the next sync must start for all of them."""
        cursors = [self.index.last_block(), *(sink.last_block() for sink in self.sinks)]
        return None if any(c is None for c in cursors) else min(c for c in cursors if c is not None)

    async def head(self) -> int:
        try:
            return int(await self.w3.eth.block_number)
        except Exception as err:  # web3 raises transport-specific errors; all mean the same to us
            raise NodeUnavailable(f"cannot read the node's head: {err}") from err

    async def sync(
        self, *, until: int | None = None, progress: Progress | None = None, max_blocks: int | None = None
    ) -> SyncReport:
        """Applies every block from cursor + 1 up to `until` (default: the head) or `max_blocks` blocks."""
        head = await self.head()
        target = head if until is None else min(until, head)
        start = self._cursor()
        next_block = self.start_block if start is None else start + 1
        if max_blocks is not None:
            target = min(target, next_block + max_blocks - 1)
        applied = written = 0
        first = next_block if next_block <= target else None
        while next_block <= target:
            end = min(target, next_block + self.range_size - 1)
            by_block = await self._logs(next_block, end)
            for number in sorted(by_block):
                index_last = self.index.last_block()
                if index_last is None or number > index_last:
                    records = self.decoder.block_records(by_block[number])
                    if self.index.apply_block(number, records):
                        applied += 1
                        written += len(records)
                if self.sinks:
                    events = self._events(by_block[number])
                    for sink in self.sinks:
                        sink.apply_block(number, events)
            if self.index.last_block() is None or self.index.last_block() < end:
                self.index.apply_block(end, [])
            for sink in self.sinks:
                sink.apply_block(end, [])
            next_block = end + 1
            if progress is not None:
                progress(end, head)
        return SyncReport(first, self.index.last_block(), head, applied, written)

    async def follow(self, stop: asyncio.Event, *, poll_s: float = 0.5, progress: Progress | None = None) -> None:
        """Keeps the index caught up until `stop` is set."""
        while not stop.is_set():
            await self.sync(progress=progress)
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_s)
            except TimeoutError:
                continue

    def _events(self, logs: Sequence[ChainLog]) -> list[DecodedEvent]:
        events = []
        for log in sorted(logs, key=lambda entry: entry.log_index):
            try:
                events.append(self.codec.decode_log(log.address, log.topics, log.data))
            except ContractsError:
                continue  # not a suite event a sink projects; the index decoder reports it in `skipped`
        return events

    async def _logs(self, start: int, end: int) -> dict[int, list[ChainLog]]:
        try:
            raw = await self.w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": self.addresses})
        except Exception as err:
            raise NodeUnavailable(f"eth_getLogs {start}..{end} failed: {err}") from err
        grouped: dict[int, list[dict[str, Any]]] = {}
        for entry in raw:
            grouped.setdefault(int(entry["blockNumber"]), []).append(entry)
        out: dict[int, list[ChainLog]] = {}
        for number in sorted(grouped):
            block = await self.w3.eth.get_block(number)
            out[number] = [
                ChainLog(
                    block_number=number,
                    block_timestamp=int(block["timestamp"]),
                    log_index=int(entry["logIndex"]),
                    address=str(entry["address"]),
                    topics=[bytes(t) for t in entry["topics"]],
                    data=bytes(entry["data"]),
                )
                for entry in grouped[number]
            ]
        return out


@dataclass(frozen=True)
class SuiteLocation:
    """Where the suite lives on the node: its addresses, and the first block that can hold its logs."""

    addresses: dict[str, str]
    start_block: int = 0


def locate_suite(url: str, deployment: Path | str | None = None) -> SuiteLocation:
    """From the deployment file when given (refused if the node is another chain or holds other code), else
    from a Colend node's `colend_status` (its genesis suite, from block 0)."""
    from contracts.deployment import load_deployment  # deferred: loading artifacts is only needed when syncing

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    if deployment is not None:
        found = load_deployment(deployment)
        found.check_node(w3)
        return SuiteLocation(found.addresses(), found.block)
    try:
        reply = w3.provider.make_request("colend_status", [])  # type: ignore[arg-type]
    except Exception as err:
        raise NodeUnavailable(f"cannot reach the node at {url}: {err}") from err
    contracts = (reply.get("result") or {}).get("contracts") if isinstance(reply, dict) else None
    if not isinstance(contracts, dict) or not contracts:
        raise NodeUnavailable(f"{url} is not a Colend node (no colend_status): pass --deployment FILE,"
                              " the file `colend contracts deploy` wrote")  # fmt: skip
    return SuiteLocation({str(k): str(v) for k, v in contracts.items()})


async def sync_from_node(
    url: str, index: IndexStore, *, suite: SuiteLocation | None = None, progress: Progress | None = None
) -> SyncReport:
    """Brings `index` up to the head of the node at `url`, for the suite `suite` (default: the node's own)."""
    from contracts.suite import suite_codecs  # deferred: loading artifacts is only needed when syncing

    where = suite or await asyncio.to_thread(locate_suite, url)
    w3 = AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(url))
    codec = SuiteCodec(suite_codecs(), where.addresses)
    follower = ChainFollower(w3, index, codec, where.addresses, start_block=where.start_block)
    try:
        return await follower.sync(progress=progress)
    finally:
        await w3.provider.disconnect()  # its aiohttp session belongs to this event loop, which ends with us


def node_sync(url: str, deployment: Path | str | None = None, progress: Progress | None = None) -> Callable[[IndexStore], int]:
    """The `sync` seam of run_reconciliation for `--node URL`: sync the index, return the chain head."""

    def sync(index: IndexStore) -> int:
        suite = locate_suite(url, deployment)
        return asyncio.run(sync_from_node(url, index, suite=suite, progress=progress)).head

    return sync
