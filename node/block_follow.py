"""A minimal block follower for observer nodes: validators push each block they finalize, observers import it.

Stands in for the block sync of issue 8 (network/ sync state machine) until it lands: it is kept here,
isolated, so replacing it touches nothing else. Frames on the SYNC channel:

    0x01 BLOCK    number (8 bytes) || block wire encoding (with its commit seals)
    0x02 REQUEST  from (8 bytes) || to (8 bytes): the peer answers with BLOCK frames it holds in that range

Every imported block goes through ChainEngine.import_block: seals checked against the validator set in
force, re-executed, state commitment compared (a mismatch halts the node). A follower that sees a gap, or
imports nothing for a while, asks a peer for the range it lacks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from network.p2p.abc import Channel
from network.p2p.host import P2PHost
from node.chain.block import Block
from node.chain.receipt import Receipt
from node.engine import ChainEngine
from node.errors import NodeError, NodeHalted

log = logging.getLogger("colend.follow")
BLOCK, REQUEST = 1, 2
MAX_RANGE = 128
MAX_AHEAD = 1_024
IDLE_REQUEST_S = 1.0


def block_frame(block: Block) -> bytes:
    return bytes([BLOCK]) + block.number.to_bytes(8, "big") + block.encode()


def request_frame(first: int, last: int) -> bytes:
    return bytes([REQUEST]) + first.to_bytes(8, "big") + last.to_bytes(8, "big")


class BlockServer:
    """Every node: answers range requests from its store, and (validators) pushes finalized blocks to followers."""

    def __init__(self, engine: ChainEngine, host: P2PHost, *, push_to: Callable[[], list[bytes]]) -> None:
        self.engine = engine
        self.host = host
        self._push_to = push_to

    def pushed(self, block: Block, _receipts: list[Receipt]) -> None:
        frame = block_frame(block)
        for address in self._push_to():
            self.host.send(address, Channel.SYNC, frame)

    def on_frame(self, sender: bytes, payload: bytes) -> None:
        """A validator's SYNC handler: it only answers range requests."""
        if len(payload) >= 17 and payload[0] == REQUEST:
            self.answer(sender, int.from_bytes(payload[1:9], "big"), int.from_bytes(payload[9:17], "big"))

    def answer(self, sender: bytes, first: int, last: int) -> None:
        last = min(last, first + MAX_RANGE - 1, self.engine.head.number)
        for number in range(first, last + 1):
            block_hash = self.engine.store.hash_by_number(number)
            block = self.engine.store.block(block_hash) if block_hash is not None else None
            if block is None:
                return
            self.host.send(sender, Channel.SYNC, block_frame(block))


class BlockFollower:
    """Observer side: imports pushed or requested blocks in order on one worker thread."""

    def __init__(self, engine: ChainEngine, host: P2PHost, server: BlockServer) -> None:
        self.engine = engine
        self.host = host
        self.server = server
        self._ahead: dict[int, bytes] = {}  # number -> encoded block, waiting for its parent
        self._next = engine.head.number + 1  # the next number handed to the worker
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="colend-follow")
        self._last_progress = time.monotonic()
        self.imported = 0
        host.on_message(Channel.SYNC, self.on_frame)

    def on_frame(self, sender: bytes, payload: bytes) -> None:
        if len(payload) > 9 and payload[0] == BLOCK:
            self._offer(sender, int.from_bytes(payload[1:9], "big"), payload[9:])
        else:
            self.server.on_frame(sender, payload)

    def _offer(self, sender: bytes, number: int, data: bytes) -> None:
        with self._lock:
            if number < self._next or number in self._ahead or number >= self._next + MAX_AHEAD:
                return
            self._ahead[number] = data
            gap = number > self._next and self._next not in self._ahead
            ready = self._take_ready()
        for n, d in ready:
            self._worker.submit(self._import, n, d)
        if gap:
            self.host.send(sender, Channel.SYNC, request_frame(self._next, number - 1))

    def _take_ready(self) -> list[tuple[int, bytes]]:
        ready = []
        while self._next in self._ahead:
            ready.append((self._next, self._ahead.pop(self._next)))
            self._next += 1
        return ready

    def _import(self, number: int, data: bytes) -> None:
        try:
            if number <= self.engine.head.number:
                return
            block = Block.decode(data, self.engine.limits)
            self.engine.import_block(block)
            self.imported += 1
            self._last_progress = time.monotonic()
        except NodeHalted:
            raise
        except (NodeError, ValueError) as exc:
            log.warning("event=follow_import_failed number=%d reason=%s", number, exc)
            with self._lock:
                self._next = min(self._next, self.engine.head.number + 1)  # ask again for what failed

    def poll(self) -> None:
        """Called every second: if nothing arrived for a while, ask each peer for what follows our head."""
        if time.monotonic() - self._last_progress < IDLE_REQUEST_S:
            return
        self._last_progress = time.monotonic()
        with self._lock:
            self._next = max(self.engine.head.number + 1, min(self._next, self.engine.head.number + 1))
            self._ahead = {n: d for n, d in self._ahead.items() if n >= self._next}
            first = self._next
        for peer in self.host.peers():
            self.host.send(peer.address, Channel.SYNC, request_frame(first, first + MAX_RANGE - 1))

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
