"""logsBloom: Ethereum's 2048-bit filter over each log's address and topics (eth-bloom), per receipt and per
block, so indexers and clients can skip blocks and receipts that cannot hold the logs they look for."""

from __future__ import annotations

from collections.abc import Sequence

from eth_bloom import BloomFilter

from node.chain.receipt import Log

BLOOM_BYTES = 256
EMPTY_BLOOM = bytes(BLOOM_BYTES)


def logs_bloom(logs: Sequence[Log]) -> bytes:
    if not logs:
        return EMPTY_BLOOM
    bloom = BloomFilter()
    for log in logs:
        bloom.add(log.address)
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom).to_bytes(BLOOM_BYTES, "big")
