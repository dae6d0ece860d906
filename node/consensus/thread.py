"""ConsensusThread: the asyncio shell around network.driver.ConsensusDriver for the node process.

Every driver call runs in turn on one consensus thread, so the core and sync see one input at a time and
block execution never stalls the asyncio loop that serves RPC. It is the driver's TimersAPI (timers are
loop.call_later, one per kind) and its transport's handler (peer events and messages are queued for the
thread); an admitted tx wakes a proposer that waits for something to include.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable

from network.abc import Timer, TimerKind
from network.driver import ConsensusDriver
from node.log_group import bind_group
from node.txpool.front import PoolFront

log = logging.getLogger("colend.consensus")

Event = tuple[str, object, object]


class _TxArrived(threading.Event):
    """The pool front's tx_arrived event, which also wakes the consensus thread when set."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake()


class ConsensusThread:
    def __init__(self, group: str | None = None) -> None:
        """`group`: the ledger group whose driver it runs; every line it logs names it (node/log_group.py)."""
        self.group = group
        self._loop: asyncio.AbstractEventLoop | None = None
        self._driver: ConsensusDriver | None = None
        self._cond = threading.Condition()
        self._events: deque[Event] = deque()
        self._stopping = False
        self._tx_posted = False  # one wake-up per burst: txs arrive by thousands
        self._timers: dict[TimerKind, asyncio.TimerHandle] = {}
        self._done: asyncio.Future[None] | None = None

    # -- TimersAPI and TransportHandler: called from the consensus thread or the transport's --------------

    def set_timer(self, timer: Timer, delay_ms: int) -> None:
        self._loop_().call_soon_threadsafe(self._arm, timer, delay_ms)

    def on_message(self, peer: bytes, payload: bytes) -> None:
        self._post(("message", peer, payload))

    def on_peer_connected(self, peer: bytes) -> None:
        self._post(("connected", peer, None))

    def on_peer_disconnected(self, peer: bytes) -> None:
        self._post(("disconnected", peer, None))

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, driver: ConsensusDriver, front: PoolFront) -> None:
        """Start the driver on the consensus thread and take the transport's events from now on."""
        loop = self._loop = asyncio.get_running_loop()
        self._driver = driver
        started: asyncio.Future[None] = loop.create_future()
        self._done = loop.create_future()
        arrived = _TxArrived(self._tx_arrived)
        if front.tx_arrived.is_set():
            arrived.set()
        front.tx_arrived = arrived
        driver.transport.set_handler(self)
        name = "colend-consensus" if self.group is None else f"colend-consensus-{self.group}"
        threading.Thread(target=self._serve, args=(driver, started), name=name, daemon=True).start()
        await started

    async def run(self) -> None:
        """Until stop(); raises if consensus fails for good (ChainHalted, ConsensusFailed)."""
        assert self._done is not None, "start() first"
        try:
            await self._done
        finally:
            for handle in self._timers.values():
                handle.cancel()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    # -- the consensus thread -------------------------------------------------------------------------

    def _serve(self, driver: ConsensusDriver, started: asyncio.Future[None]) -> None:
        if self.group is not None:
            bind_group(self.group)
        try:
            driver.start()
        except BaseException as exc:
            self._resolve(started, exc)
            self._resolve(self._done, None)
            return
        self._resolve(started, None)
        try:
            while (event := self._next()) is not None:
                kind, a, b = event
                if kind == "message":
                    driver.on_message(a, b)  # type: ignore[arg-type]
                elif kind == "timer":
                    driver.on_timer(a)  # type: ignore[arg-type]
                elif kind == "tx":
                    driver.on_tx_arrived()
                elif kind == "connected":
                    driver.on_peer_connected(a)  # type: ignore[arg-type]
                else:
                    driver.on_peer_disconnected(a)  # type: ignore[arg-type]
        except BaseException as exc:
            self._resolve(self._done, exc)
        else:
            self._resolve(self._done, None)

    def _next(self) -> Event | None:
        with self._cond:
            while not self._stopping:
                if self._events:
                    event = self._events.popleft()
                    if event[0] == "tx":
                        self._tx_posted = False
                    return event
                self._cond.wait()
            return None

    # -- internals ------------------------------------------------------------------------------------

    def _post(self, event: Event) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify()

    def _tx_arrived(self) -> None:
        with self._cond:
            if not self._tx_posted:
                self._tx_posted = True
                self._events.append(("tx", None, None))
                self._cond.notify()

    def _arm(self, timer: Timer, delay_ms: int) -> None:
        previous = self._timers.pop(timer.kind, None)
        if previous is not None:
            previous.cancel()  # a timer replaces the pending one of its kind
        self._timers[timer.kind] = self._loop_().call_later(delay_ms / 1000, self._post, ("timer", timer, None))

    def _resolve(self, future: asyncio.Future[None] | None, error: BaseException | None) -> None:
        def settle() -> None:
            if future is not None and not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

        self._loop_().call_soon_threadsafe(settle)

    def _loop_(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "start() first"
        return self._loop
