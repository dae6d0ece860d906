"""Transactions and receipts roots: keccak over the RLP list of items (flat commitments, not Patricia tries).

No light clients need inclusion proofs here, and a flat list is cheaper and equally binding on order and
content; Ethereum tooling only displays these roots.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_hash.auto import keccak

from node.chain.receipt import Receipt
from node.chain.rlp_codec import encode as rlp_encode
from node.chain.rlp_codec import encode_list_of_encoded


def tx_root(tx_hashes: Sequence[bytes]) -> bytes:
    return keccak(rlp_encode(list(tx_hashes)))


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    return receipts_root_encoded([r.encode() for r in receipts])


def receipts_root_encoded(encoded: Sequence[bytes]) -> bytes:
    """Same root from receipts already RLP-encoded (the store keeps those exact bytes)."""
    return keccak(encode_list_of_encoded(list(encoded)))
