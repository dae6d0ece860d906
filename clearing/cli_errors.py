"""How clearing's commands report a failure: `error <code>: <message>` on stderr, exit code 2."""

from __future__ import annotations

from rich.console import Console

from clearing.errors import ClearingError
from contracts.errors import ContractsError

EXIT_ERROR = 2


def fail(exc: ClearingError | ContractsError) -> int:
    Console(stderr=True).print(f"[red]error {exc.code}[/]: {exc.message}", highlight=False)
    return EXIT_ERROR
