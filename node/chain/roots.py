"""Transactions and receipts roots: keccak over the RLP list of items (flat commitments, not Patricia tries).

No light clients need inclusion proofs here, and a flat list is cheaper and equally binding on order and
content; Ethereum tooling only displays these roots.
"""

from __future__ import annotations

from collections.abc import Sequence

import rlp
from eth_hash.auto import keccak

from node.chain.receipt import Receipt


def tx_root(tx_hashes: Sequence[bytes]) -> bytes:
    return keccak(rlp.encode(list(tx_hashes)))


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    return keccak(rlp.encode([r.fields() for r in receipts]))
