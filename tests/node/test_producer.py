import threading

from node.producer import SingleValidatorProducer
from tests.node.support import BANK_A, VALIDATOR, Clock, open_engine, producer, tx


def test_no_empty_blocks_unless_configured(tmp_path):
    engine = open_engine(tmp_path / "db")
    assert producer(engine).produce_once() is None
    block = producer(engine, allow_empty=True).produce_once()
    assert block.number == 1 and block.txs == ()


def test_timestamps_strictly_increase_even_if_the_clock_does_not(tmp_path):
    engine = open_engine(tmp_path / "db")
    stuck = SingleValidatorProducer(engine, VALIDATOR, clock_ms=lambda: 5, allow_empty=True)
    first, second = stuck.produce_once(), stuck.produce_once()
    assert engine.genesis.timestamp_ms < first.header.timestamp_ms < second.header.timestamp_ms


def test_background_loop_seals_pending_txs(tmp_path):
    engine = open_engine(tmp_path / "db")
    sealed = threading.Event()
    engine.on_block(lambda block, receipts: sealed.set())
    loop = SingleValidatorProducer(engine, VALIDATOR, period_ms=20, clock_ms=Clock())
    loop.start()
    try:
        engine.submit(tx(BANK_A, 0, b"\x22" * 20))
        assert sealed.wait(timeout=10)
    finally:
        loop.stop()
    assert engine.head.number == 1 and len(engine.pool) == 0
