"""The p2p tests' fixtures: hosts started on 127.0.0.1 (stopped at the end) and a consortium CA minted per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.network.p2p.hosts import Net
from tests.network.pki_factory import MintedCa


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    n = Net()
    yield n
    for host in n.hosts:
        await host.stop()


@pytest.fixture
def ca(tmp_path: Path) -> MintedCa:
    return MintedCa(tmp_path / "ca")
