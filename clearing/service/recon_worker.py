"""One reconciliation run in its own process, so the service's event loop never competes with it for the
GIL: `python -m clearing.service.recon_worker JOB.json`.

The service loads the bank's chain frame from its live index (LevelDB admits one process) and writes it as
an Arrow IPC file beside the job; this process reads it, reconciles it with the books, carries the breaks
over in the break store and prints one JSON line per stage and a last line with the statement (or error).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from clearing.errors import ClearingError
from clearing.recon.rules import MatchRules
from clearing.recon.run import run_reconciliation


@dataclass(frozen=True)
class FrameView:
    """The chain side as the service read it: the bank's frame and the index block it was read at."""

    frame: pl.DataFrame
    block: int | None

    def last_block(self) -> int | None:
        return self.block

    def bank_frame(self, bank: str) -> pl.DataFrame:
        return self.frame


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def run(job: dict) -> dict:
    view = FrameView(pl.read_ipc(job["chain_ipc"], memory_map=False), job["index_block"])
    result = run_reconciliation(
        view,
        job["bank"],
        job["books"],
        job["mapping"],
        as_of=dt.date.fromisoformat(job["as_of"]),
        rules=MatchRules(**job["rules"]),
        break_store=job["breaks_db"],
        recorded_at=dt.datetime.fromisoformat(job["recorded_at"]),
        run_id=job["run_id"],
        chain_head=job["chain_head"],
        progress=lambda stage, number, total: emit({"stage": stage, "number": number, "total": total}),
    )
    return {"statement": result.statement.to_dict(), "verdict": result.statement.verdict.value}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(args[0]).read_text())
    try:
        emit({"done": run(job)})
    except ClearingError as exc:
        emit({"error": {"code": exc.code, "message": exc.message}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
