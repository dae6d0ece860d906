"""transactionsRoot and receiptsRoot: Ethereum's Merkle-Patricia trie roots, so any tool that recomputes them
from a block (geth, py-evm, a light client) agrees.

Both tries map rlp(index) to an item: the raw signed tx (a typed envelope or a legacy RLP list), or the
consensus receipt, `type || rlp([status, cumulativeGasUsed, logsBloom, logs])` (EIP-2718). The trie of
ordered keys is built in one pass bottom-up from the sorted keys, the way geth's StackTrie does, with the
`trie` library's hex-prefix encoding; inserting into trie.HexaryTrie one key at a time gives the same root
(tests compare them) at ten times the cost, which a block of thousands of txs would feel.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from trie.utils.nodes import compute_extension_key, compute_leaf_key

from network.hashing import keccak256 as keccak
from node.chain.bloom import BLOOM_BYTES, bloom_int
from node.chain.receipt import Receipt
from node.rlp_codec import encode as rlp_encode
from node.rlp_codec import encode_bytes, list_header
from node.tx.model import Transaction

EMPTY_TRIE_ROOT = keccak(rlp_encode(b""))  # 0x56e81f17...b421


def ordered_trie_root(items: Sequence[bytes]) -> bytes:
    """Root of the trie {rlp(i): items[i]}."""
    if not items:
        return EMPTY_TRIE_ROOT
    pairs = sorted(zip(_index_keys(len(items)), items, strict=False))
    return keccak(_node(pairs, 0))


_KEYS: list[tuple[int, ...]] = []  # nibbles of rlp(i), for every index seen so far: the same for every block


def _index_keys(count: int) -> list[tuple[int, ...]]:
    while len(_KEYS) < count:
        _KEYS.append(tuple(n for byte in rlp_encode(len(_KEYS)) for n in (byte >> 4, byte & 0x0F)))
    return _KEYS[:count]


@functools.lru_cache(maxsize=4_096)
def _leaf_key(nibbles: tuple[int, ...]) -> bytes:
    return rlp_encode(compute_leaf_key(nibbles))


@functools.lru_cache(maxsize=4_096)
def _extension_key(nibbles: tuple[int, ...]) -> bytes:
    return rlp_encode(compute_extension_key(nibbles))


def _node(pairs: list[tuple[tuple[int, ...], bytes]], depth: int) -> bytes:
    """The RLP of the node for `pairs` (sorted, distinct keys sharing their first `depth` nibbles). Nodes are
    encoded bottom-up, once each, straight from their children's encodings (keys and refs are already RLP)."""
    if len(pairs) == 1:
        key, value = pairs[0]
        return _list(_leaf_key(key[depth:]) + encode_bytes(value))
    first, last = pairs[0][0], pairs[-1][0]  # sorted: the common prefix of all is that of the extremes
    common = 0
    limit = min(len(first), len(last)) - depth
    while common < limit and first[depth + common] == last[depth + common]:
        common += 1
    if common:
        return _list(_extension_key(first[depth : depth + common]) + _ref(_node(pairs, depth + common)))
    branch = [_EMPTY] * 17
    start = 0
    if len(pairs[0][0]) == depth:  # a key ending here holds the branch's value
        branch[16] = encode_bytes(pairs[0][1])
        start = 1
    while start < len(pairs):
        nibble = pairs[start][0][depth]
        end = start + 1
        while end < len(pairs) and pairs[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _ref(_node(pairs[start:end], depth + 1))
        start = end
    return _list(b"".join(branch))


_EMPTY = rlp_encode(b"")
_HASH_PREFIX = b"\xa0"  # RLP string header of a 32-byte hash


def _list(payload: bytes) -> bytes:
    return list_header(len(payload)) + payload


def _ref(encoded: bytes) -> bytes:
    """How a parent points at a child: the child inline under 32 encoded bytes, else the RLP of its hash."""
    return encoded if len(encoded) < 32 else _HASH_PREFIX + keccak(encoded)


def tx_root(raw_txs: Sequence[bytes]) -> bytes:
    return ordered_trie_root(raw_txs)


@dataclass(frozen=True, slots=True)
class BlockRoots:
    tx_root: bytes
    receipts_root: bytes
    logs_bloom: bytes


def block_roots(txs: Sequence[Transaction], receipts: Sequence[Receipt],
                logs_rlps: Sequence[bytes] | None = None) -> BlockRoots:
    """The header's commitments to a block's txs and receipts; each receipt's bloom is computed once, and its
    logs' RLP is taken from `logs_rlps` when the caller has it already (Receipt.logs_rlp)."""
    blooms = [bloom_int(r.logs) for r in receipts]
    if logs_rlps is None:
        logs_rlps = [r.logs_rlp() for r in receipts]
    encoded = [r.consensus_encoding(tx.type, bloom.to_bytes(BLOOM_BYTES, "big"), logs)
               for tx, r, bloom, logs in zip(txs, receipts, blooms, logs_rlps, strict=True)]
    block_bloom = 0
    for bloom in blooms:
        block_bloom |= bloom
    return BlockRoots(tx_root([tx.raw for tx in txs]), ordered_trie_root(encoded), block_bloom.to_bytes(BLOOM_BYTES, "big"))
