from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from clearing.service.app import build_app
from clearing.service.state import SIGNER
from tests.clearing.service.world import World, build_world, key_of, keyring


@dataclass
class Sent:
    tx_hash: str
    block_number: int


@dataclass
class RecordingSigner:
    """Stands in for the node at the chain boundary in API tests (e2e tests use a real node)."""

    calls: list[tuple] = field(default_factory=list)

    async def _sent(self, *call: object) -> Sent:
        self.calls.append(call)
        return Sent(tx_hash="0x" + f"{len(self.calls):064x}", block_number=100 + len(self.calls))

    async def confirm_cycle(self, cycle_id: int) -> Sent:
        return await self._sent("confirm", cycle_id)

    async def record_payment(self, cycle_id: int, index: int, payment_ref: str) -> Sent:
        return await self._sent("record_payment", cycle_id, index, payment_ref)

    async def acknowledge_payment(self, cycle_id: int, index: int) -> Sent:
        return await self._sent("acknowledge", cycle_id, index)

    def close(self) -> None:
        pass


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path)


@pytest.fixture
def signer() -> RecordingSigner:
    return RecordingSigner()


@pytest.fixture
async def client(world: World, signer: RecordingSigner) -> AsyncIterator[TestClient]:
    app = build_app(world.config, keyring())
    app[SIGNER] = signer  # type: ignore[assignment]
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def as_(name: str | None) -> dict[str, str]:
    return {} if name is None else {"X-API-Key": key_of(name)}
