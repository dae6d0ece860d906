"""logsBloom: Ethereum's 2048-bit filter over each log's address and topics (eth-bloom's bit rule), per receipt
and per block, so indexers and clients can skip blocks and receipts that cannot hold the logs they look for.

A chain's logs name the same few contracts, event signatures and bank ids over and over, so each value's three
bits are computed once (a keccak each) and cached; a receipt's bloom is then a handful of ORs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from eth_bloom.bloom import get_bloom_bits

from node.chain.receipt import Log

BLOOM_BYTES = 256
EMPTY_BLOOM = bytes(BLOOM_BYTES)
MAX_CACHED_VALUES = 65_536


@functools.lru_cache(maxsize=MAX_CACHED_VALUES)
def _bits(value: bytes) -> int:
    mask = 0
    for bit in get_bloom_bits(value):
        mask |= bit
    return mask


def bloom_int(logs: Sequence[Log]) -> int:
    bloom = 0
    for log in logs:
        bloom |= _bits(log.address)
        for topic in log.topics:
            bloom |= _bits(topic)
    return bloom


def logs_bloom(logs: Sequence[Log]) -> bytes:
    return bloom_int(logs).to_bytes(BLOOM_BYTES, "big") if logs else EMPTY_BLOOM
