"""EngineChain's execution observers: told the seconds each block it proposes, validates or imports took."""

from __future__ import annotations

from network.abc import SealedBlock
from node.consensus.block_codec import to_consensus
from node.consensus.chain_adapter import EngineChain
from tests.node.support import BANK_A, VALIDATOR, addr, open_engine, producer, tx


def observed(chain: EngineChain) -> list[float]:
    seconds: list[float] = []
    chain.execution_observers.append(seconds.append)
    return seconds


def test_each_block_proposed_validated_or_imported_is_timed_once(tmp_path) -> None:
    source = open_engine(tmp_path / "proposer")
    lone = producer(source)
    proposed = observed(lone.chain)
    source.submit(tx(BANK_A, 0, b"\x22" * 20))
    block = lone.produce_once()
    assert block is not None and len(proposed) == 1 and proposed[0] > 0

    validator = EngineChain(open_engine(tmp_path / "validator"), addr(VALIDATOR))
    validated = observed(validator)
    proposal = to_consensus(block)
    assert validator.validate_proposal(proposal, block.hash)
    assert validator.validate_proposal(proposal, block.hash)  # executed already: not run, not timed again
    validator.commit(proposal, block.hash, block.seals)  # the executed proposal is committed, not re-run
    assert len(validated) == 1 and validator.engine.head_hash == block.hash

    follower = EngineChain(open_engine(tmp_path / "follower"), addr(VALIDATOR))
    imported = observed(follower)
    follower.import_block(SealedBlock(proposal, block.seals), block.hash)
    assert len(imported) == 1 and follower.engine.head_hash == block.hash
