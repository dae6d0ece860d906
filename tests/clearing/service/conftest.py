from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from clearing.service.app import build_app
from tests.clearing.service.world import World, build_world, key_of, keyring


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(tmp_path)


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient]:
    app = build_app(world.config, keyring())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def as_(name: str | None) -> dict[str, str]:
    return {} if name is None else {"X-API-Key": key_of(name)}
