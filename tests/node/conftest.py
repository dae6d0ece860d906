"""Fixtures shared by the node's tests."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.engine.chain_parts import ChainParts, open_chain
from node.store.chain_store import ChainStore
from tests.node.support import make_genesis


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Callable[..., ChainParts]]:
    """Chains in directories of tmp_path, by default executing in a child process as a running node does; all
    stopped at the end of the test."""
    chains: list[ChainParts] = []

    def opener(name: str, execution_process: bool = True) -> ChainParts:
        chain = open_chain(ChainStore(str(tmp_path / name)), make_genesis(), execution_process=execution_process)
        chains.append(chain)
        return chain

    yield opener
    for chain in chains:
        chain.engine.close()
