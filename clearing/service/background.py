"""The service's background tasks: following the node into the index and the settlement view, and
starting reconciliation runs on schedule and when the books change."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from web3 import AsyncWeb3

from clearing.errors import ClearingError
from clearing.indexer.follower import ChainFollower, SuiteLocation, locate_suite
from clearing.indexer.store import IndexStore
from clearing.service.policy_view import PolicyView
from clearing.service.runs import RunManager
from clearing.service.state import FollowState
from clearing.settlement.store import SettlementStore
from contracts.abi import SuiteCodec
from contracts.errors import ContractsError

log = logging.getLogger("clearing.service.background")
RETRY_S = 2.0


async def discover(url: str, deployment: Path | None, state: FollowState) -> SuiteLocation:
    """Where the suite is: the deployment file's suite, checked against the node (chain id, code), or a Colend
    node's own. Retried until it succeeds: the node may start after us; a file that does not fit the node is
    reported through readiness with its code (e.g. contracts.chain_id_mismatch) until the operator fixes it."""
    while True:
        try:
            return await asyncio.to_thread(locate_suite, url, deployment)
        except (ClearingError, ContractsError) as exc:
            state.error = f"{exc.code}: {exc.message}"
            log.warning("event=suite_not_located url=%s code=%s error=%r", url, exc.code, exc.message)
            await asyncio.sleep(RETRY_S)


async def follow(
    url: str, suite: SuiteLocation, index: IndexStore, settlement: SettlementStore, state: FollowState, poll_s: float
) -> None:
    """Keeps index and settlement view at the node's head, from the suite's first block; an error is
    reported (readiness) and retried."""
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


async def refresh_policy(view: PolicyView, *, every_s: float) -> None:
    """Keeps the exposure report (and so its /metrics gauges) current as the index moves."""
    while True:
        try:
            await view.current()
        except ClearingError as exc:  # e.g. the policy module missing from this build: nothing to refresh
            log.info("event=policy_refresh_stopped reason=%r", exc.message)
            return
        await asyncio.sleep(every_s)
