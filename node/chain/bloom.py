"""logsBloom: Ethereum's 2048-bit filter over each log's address and topics (eth-bloom's bit rule), per receipt
and per block, so indexers and clients can skip blocks and receipts that cannot hold the logs they look for.

A chain's logs name the same few contracts, event signatures and bank ids over and over, so each value's three
bits are computed once (a keccak each) and cached; a receipt's bloom is then a handful of ORs. Unique topics
(entry ids) miss the cache, so the bits are taken from the hash inline rather than through eth-bloom's
generators (a fifth of a block's root-and-bloom time); tests check the result against eth-bloom.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from network.hashing import keccak256 as keccak
from node.chain.receipt import Log

BLOOM_BYTES = 256
EMPTY_BLOOM = bytes(BLOOM_BYTES)
MAX_CACHED_VALUES = 65_536


@functools.lru_cache(maxsize=MAX_CACHED_VALUES)
def _bits(value: bytes) -> int:
    """The three bits eth-bloom sets for `value`: the low 11 bits of each of keccak's first three byte pairs."""
    digest = keccak(value)
    return ((1 << (((digest[0] << 8) | digest[1]) & 2047)) | (1 << (((digest[2] << 8) | digest[3]) & 2047))
            | (1 << (((digest[4] << 8) | digest[5]) & 2047)))


def bloom_int(logs: Sequence[Log]) -> int:
    bloom = 0
    for log in logs:
        bloom |= _bits(log.address)
        for topic in log.topics:
            bloom |= _bits(topic)
    return bloom


def logs_bloom(logs: Sequence[Log]) -> bytes:
    return bloom_int(logs).to_bytes(BLOOM_BYTES, "big") if logs else EMPTY_BLOOM
