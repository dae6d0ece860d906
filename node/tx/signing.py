"""Client-side signing of EIP-1559 and EIP-155 legacy txs with coincurve: for benches, e2e drivers and tools
that sign thousands of txs (eth-account is several times slower). The node itself never signs txs."""

from __future__ import annotations

from coincurve import PrivateKey

from network.hashing import keccak256 as keccak
from node.rlp_codec import encode as rlp_encode
from node.tx.decode import SECP256K1_N


def _sign(key: PrivateKey, msg_hash: bytes) -> tuple[int, int, int]:
    sig = key.sign_recoverable(msg_hash, hasher=None)
    r, s, rec = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
    if s > SECP256K1_N // 2:  # libsecp256k1 already normalises; kept so the invariant is local
        s, rec = SECP256K1_N - s, rec ^ 1
    return r, s, rec


def sign_dynamic_fee(private_key: bytes | PrivateKey, chain_id: int, nonce: int, to: bytes | None, data: bytes = b"",
                     gas: int = 1_000_000, value: int = 0, max_fee: int = 0, max_priority_fee: int = 0) -> bytes:
    """A signed type-2 tx, raw bytes ready for eth_sendRawTransaction."""
    key = private_key if isinstance(private_key, PrivateKey) else PrivateKey(private_key)
    fields = [chain_id, nonce, max_priority_fee, max_fee, gas, to or b"", value, data, []]
    r, s, y = _sign(key, keccak(b"\x02" + rlp_encode(fields)))
    return b"\x02" + rlp_encode([*fields, y, r, s])


def sign_legacy(private_key: bytes | PrivateKey, chain_id: int, nonce: int, to: bytes | None, data: bytes = b"",
                gas: int = 1_000_000, value: int = 0, gas_price: int = 0) -> bytes:
    """A signed EIP-155 legacy tx."""
    key = private_key if isinstance(private_key, PrivateKey) else PrivateKey(private_key)
    fields = [nonce, gas_price, gas, to or b"", value, data]
    r, s, rec = _sign(key, keccak(rlp_encode([*fields, chain_id, 0, 0])))
    return rlp_encode([*fields, chain_id * 2 + 35 + rec, r, s])
