"""The service's background tasks: following the node into the index and the settlement view, and
starting reconciliation runs on schedule and when the books change."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from web3 import AsyncWeb3

from clearing.errors import ClearingError
from clearing.index_store import IndexStore
from clearing.indexer.follower import ChainFollower, SuiteLocation, locate_suite
from clearing.service.runs import RunManager
from clearing.service.state import FollowState
from clearing.settlement.store import SettlementStore
from contracts.abi import SuiteCodec

log = logging.getLogger("clearing.service.background")
RETRY_S = 2.0


async def discover(url: str, deployment: Path | None = None) -> SuiteLocation:
    """Where the suite is (the deployment file, checked against the node, or a Colend node's own); retried
    until the node answers (it may start after us)."""
    while True:
        try:
            return await asyncio.to_thread(locate_suite, url, deployment)
        except ClearingError as exc:
            log.warning("event=node_unavailable url=%s error=%r", url, exc.message)
            await asyncio.sleep(RETRY_S)


async def follow(
    url: str, suite: SuiteLocation, index: IndexStore, settlement: SettlementStore, state: FollowState, poll_s: float
) -> None:
    """Keeps index and settlement view at the node's head; an error is reported (readiness) and retried."""
    from contracts.suite import suite_codecs  # deferred: loading artifacts only when following a node

    w3 = AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(url))
    codec = SuiteCodec(suite_codecs(), suite.addresses)
    follower = ChainFollower(w3, index, codec, suite.addresses, start_block=suite.start_block, sinks=[settlement])
    while True:
        try:
            report = await follower.sync()
            state.head, state.error = report.head, None
            state.syncs += 1
        except ClearingError as exc:
            state.error = exc.message
            log.warning("event=follow_failed error=%r", exc.message)
            await asyncio.sleep(RETRY_S)
            continue
        await asyncio.sleep(poll_s)


async def schedule_runs(runs: RunManager, *, every_s: float, watch_s: float) -> None:
    """Starts a run every `every_s` seconds and whenever the books fingerprint changes (checked every
    `watch_s` seconds, off the event loop since hashing a large export takes a while)."""
    last_scheduled = time.monotonic()
    tick = min(s for s in (every_s, watch_s) if s > 0)
    while True:
        await asyncio.sleep(tick)
        if runs.current is not None:
            continue
        due = every_s > 0 and time.monotonic() - last_scheduled >= every_s
        changed = watch_s > 0 and await asyncio.to_thread(runs.books_changed)
        if due or changed:
            if due:
                last_scheduled = time.monotonic()
            try:
                runs.start("schedule" if due else "books_changed")
            except ClearingError as exc:  # a run started by request in between
                log.info("event=run_skipped reason=%r", exc.message)
