"""Single-validator block production: seal a block every block period while txs are pending.

Kept apart from the engine so the QBFT core (network/qbft) can replace it: it follows the same
propose -> execute -> commit-with-seals steps, with one validator whose own seal is the whole quorum.
The period loop is the only place that reads the wall clock, and only to choose the proposer timestamp.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from node.chain.block import Block
from node.chain.seals import address_of, make_seal
from node.engine import ChainEngine, quorum
from node.errors import NodeError

log = logging.getLogger("colend.producer")
DEFAULT_BLOCK_PERIOD_MS = 200
DEFAULT_MAX_TXS_PER_BLOCK = 5_000


class SingleValidatorProducer:
    def __init__(self, engine: ChainEngine, validator_key: bytes, *, period_ms: int = DEFAULT_BLOCK_PERIOD_MS,
                 allow_empty: bool = False, max_txs: int = DEFAULT_MAX_TXS_PER_BLOCK,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.engine = engine
        self._key = validator_key
        self.address = address_of(validator_key)
        validators = engine.genesis.validators
        if self.address not in validators or quorum(len(validators)) > 1:
            raise NodeError("single-validator production needs a chain whose only validator is this key")
        self.period_ms = period_ms
        self.allow_empty = allow_empty
        self.max_txs = max_txs
        self._clock_ms = clock_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def produce_once(self) -> Block | None:
        """Propose, execute, seal and commit one block; None when there was nothing to include."""
        pending = self.engine.propose(self._clock_ms(), self.address, self.max_txs, self.allow_empty)
        if pending is None:
            return None
        return self.engine.commit(pending, [make_seal(self._key, pending.header.hash())])

    def run(self) -> None:
        """Loop until stop(): wake on a new tx (or each period if empty blocks are on), keep one period apart."""
        period = self.period_ms / 1000
        last = 0.0
        while not self._stop.is_set():
            if not self.allow_empty:
                self.engine.tx_arrived.wait(timeout=period)
                if self._stop.is_set():
                    break
            wait = last + period - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            self.engine.tx_arrived.clear()
            last = time.monotonic()
            try:
                block = self.produce_once()
            except NodeError as exc:
                log.error("event=block_production_failed code=%s error=%s", exc.code, exc.message)
                if self.engine.halted:
                    break
                continue
            except Exception:  # the engine has rebuilt its EVM from the store; keep serving, loudly
                log.exception("event=block_production_failed code=internal")
                if self._stop.wait(period):
                    break
                continue
            if block is not None and len(self.engine.pool):
                self.engine.tx_arrived.set()  # more ready: go again after the period

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="colend-producer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.engine.tx_arrived.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
