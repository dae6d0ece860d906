"""docs/INVARIANTS.md names real tests: every `tests/...py::name` it cites is defined in that file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_the_invariants_cite_exists() -> None:
    text = (ROOT / "docs" / "INVARIANTS.md").read_text()
    cited = CITED.findall(text)
    assert len(cited) >= 20
    missing = [f"{path}::{name}" for path, name in cited
               if not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)]
    assert missing == []
