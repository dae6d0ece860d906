"""Drives a ConsensusDriver for the node process: the thin I/O shell around the sans-I/O consensus.

Every driver call runs in turn on one consensus thread, so the core sees one input at a time and block
execution never stalls the asyncio loop that serves RPC. Round timers are loop.call_later; peers' messages
and fired timers are queued for the thread. The thread itself waits out the block period and wakes on an
admitted tx, so a proposal never waits for the loop to finish an RPC batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable

from node.consensus_driver import ConsensusDriver

log = logging.getLogger("colend.consensus")

Event = tuple[str, bytes] | tuple[str, int, int]


class _TxArrived(threading.Event):
    """The engine's tx_arrived event, which also wakes the consensus thread when set."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake()


class ConsensusRunner:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._driver: ConsensusDriver | None = None
        self._cond = threading.Condition()
        self._events: deque[Event] = deque()
        self._stopping = False
        self._wake_on_tx = False  # only while the proposer waits for something to include: txs arrive by thousands
        self._round_timer: asyncio.TimerHandle | None = None
        self._done: asyncio.Future[None] | None = None

    # -- TimersAPI and the transport's receiver: called from the consensus or transport threads ----------

    def set_timer(self, height: int, round_: int, delay_ms: int) -> None:
        self._loop_().call_soon_threadsafe(self._arm_round_timer, height, round_, delay_ms)

    def receive(self, message: bytes) -> None:
        self._post(("message", message))

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, driver: ConsensusDriver) -> None:
        """Start the core (resuming its persisted round) on the consensus thread and listen to the transport."""
        loop = self._loop = asyncio.get_running_loop()
        self._driver = driver
        started: asyncio.Future[None] = loop.create_future()
        self._done = loop.create_future()
        engine = driver.engine
        arrived = _TxArrived(self._wake)
        if engine.tx_arrived.is_set():
            arrived.set()
        engine.tx_arrived = arrived
        driver.transport.set_receiver(self.receive)
        threading.Thread(target=self._serve, args=(driver, started), name="colend-consensus", daemon=True).start()
        await started

    async def run(self) -> None:
        """Until stop(); raises if consensus fails for good (NodeHalted, ConsensusFailed)."""
        assert self._done is not None, "start() first"
        try:
            await self._done
        finally:
            if self._round_timer is not None:
                self._round_timer.cancel()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    # -- the consensus thread -------------------------------------------------------------------------

    def _serve(self, driver: ConsensusDriver, started: asyncio.Future[None]) -> None:
        try:
            driver.start()
        except BaseException as exc:
            self._resolve(started, exc)
            self._resolve(self._done, None)
            return
        self._resolve(started, None)
        try:
            while (event := self._next(driver)) is not None:
                if event[0] == "message":
                    driver.on_message(event[1])  # type: ignore[arg-type]
                elif event[0] == "timeout":
                    driver.on_timeout(event[1], event[2])  # type: ignore[arg-type, misc]
                else:
                    driver.try_build()
        except BaseException as exc:
            self._resolve(self._done, exc)
        else:
            self._resolve(self._done, None)

    def _next(self, driver: ConsensusDriver) -> Event | tuple[str] | None:
        """The next input: a queued one, else a build once it is due; waits for whichever comes first."""
        with self._cond:
            while not self._stopping:
                if self._events:
                    return self._events.popleft()
                delay = driver.build_delay_ms()
                if delay == 0:
                    return ("build",)
                self._wake_on_tx = driver.wants_txs
                self._cond.wait(None if delay is None else delay / 1000)
                self._wake_on_tx = False
            return None

    # -- internals ------------------------------------------------------------------------------------

    def _post(self, event: Event) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify()

    def _wake(self) -> None:
        with self._cond:  # under the lock: the thread decides to wait for a tx and waits in one step
            if self._wake_on_tx:
                self._cond.notify()

    def _arm_round_timer(self, height: int, round_: int, delay_ms: int) -> None:
        if self._round_timer is not None:
            self._round_timer.cancel()  # the core ignores all but its newest timer
        self._round_timer = self._loop_().call_later(delay_ms / 1000, self._post, ("timeout", height, round_))

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
