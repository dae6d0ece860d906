"""The README's main job: the walk-through reaches a settled cycle and shows the refusals."""

from __future__ import annotations

import argparse
import io

from rich.console import Console

from contracts.walkthrough import run


def test_walkthrough_settles_and_shows_refusals() -> None:
    buffer = io.StringIO()
    assert run(argparse.Namespace(), Console(file=buffer, width=200)) == 0
    text = buffer.getvalue()
    assert "ObserverCannotWrite" in text
    assert "ServicerShareBelowFloor" in text  # the servicer's 30% floor of the 2021 notice
    assert "NotServicer" in text
    assert "cycle 1 is SETTLED" in text
