"""The regulator's exposure and limit view, served from `clearing.policy` (the pure computation module).

The report reads every bank's records, so it is computed off the event loop and cached per index block;
/metrics reads the cached report. If `clearing.policy` is not installed the views answer 503.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from clearing.errors import NotReady
from clearing.indexer.store import IndexStore

POLICY_MODULE = "clearing.policy"


class PolicyView:
    def __init__(self, index: IndexStore) -> None:
        self.index = index
        self.cached: Any | None = None
        self._block: int | None = None
        self._lock = asyncio.Lock()
        self._computing: asyncio.Future[Any] | None = None  # the report's thread, which outlives a cancelled caller

    @staticmethod
    def _module() -> Any:
        try:
            return importlib.import_module(POLICY_MODULE)
        except ImportError as exc:
            raise NotReady("the policy module (clearing.policy) is not installed in this build") from exc

    async def current(self) -> Any:
        """The ExposureReport as of the index's last block (recomputed only when the index moved)."""
        module = self._module()
        async with self._lock:
            block = self.index.last_block()
            if self.cached is None or block != self._block:
                self._computing = asyncio.ensure_future(asyncio.to_thread(module.report, self.index))
                self.cached = await asyncio.shield(self._computing)
                self._block = block
            return self.cached

    async def drain(self) -> None:
        """Wait for a report still being computed: its thread reads the index, which must not close under it
        (a LevelDB iterator over a closed database crashes the process)."""
        computing = self._computing
        if computing is not None and not computing.done():
            await asyncio.wait([computing])

    def gauges(self) -> list[tuple[str, dict[str, str], float]]:
        """Per check: exposure, limit and breach flag, for /metrics (empty until a report was computed)."""
        report = self.cached
        if report is None:
            return []
        out: list[tuple[str, dict[str, str], float]] = []
        for check in report.checks:
            labels = {"rule": check.rule.value, "bank": check.bank, "partner": check.partner or ""}
            out.append(("colend_policy_exposure_fen", labels, float(check.exposure)))
            if check.limit_amount is not None:
                out.append(("colend_policy_limit_fen", labels, float(check.limit_amount)))
            out.append(("colend_policy_breach", labels, 1.0 if check.status.value == "BREACH" else 0.0))
        return out
