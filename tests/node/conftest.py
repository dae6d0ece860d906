"""Fixtures shared by the node's tests."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.engine.chain_engine import ChainEngine
from node.store.chain_store import ChainStore
from tests.node.support import make_genesis


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Callable[..., ChainEngine]]:
    """Engines in directories of tmp_path, by default executing in a child process as a running node does; all
    stopped at the end of the test."""
    engines: list[ChainEngine] = []

    def opener(name: str, execution_process: bool = True) -> ChainEngine:
        engine = ChainEngine(ChainStore(str(tmp_path / name)), make_genesis(), execution_process=execution_process)
        engines.append(engine)
        return engine

    yield opener
    for engine in engines:
        engine.close()
