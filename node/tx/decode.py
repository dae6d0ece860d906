"""Raw bytes -> Transaction: RLP shape, canonical integers, EIP-155 / EIP-2930 / EIP-1559 signatures.

Sans-I/O and stateless: the pool and block import call it with the chain's limits. Sender recovery uses
coincurve directly (about five times faster than eth-account), since every node verifies every tx.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from coincurve import PublicKey

from network.hashing import keccak256 as keccak
from node.defaults import DEFAULT_MAX_TX_BYTES
from node.errors import GasLimitExceeded, MalformedRlp, MalformedTransaction, OversizedTransaction, WrongChainId
from node.rlp_codec import decode as rlp_decode
from node.rlp_codec import encode as rlp_encode
from node.rlp_codec import encode_bytes, list_header, payload_bounds
from node.tx.model import ACCESS_LIST, DYNAMIC_FEE, LEGACY, AccessList, Transaction, from_field_values

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2
RECOVERY_CACHE_SIZE = 1 << 16
TX_GAS = 21_000
TX_CREATE_GAS = 32_000


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    chain_id: int
    block_gas_limit: int
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES


def _int(field: object, name: str) -> int:
    if not isinstance(field, bytes):
        raise MalformedTransaction(f"{name} must be an RLP string")
    if len(field) > 32:
        raise MalformedTransaction(f"{name} is wider than 256 bits")
    if field[:1] == b"\x00":
        raise MalformedTransaction(f"{name} has leading zero bytes")
    return int.from_bytes(field, "big")


def _bytes(field: object, name: str) -> bytes:
    if not isinstance(field, bytes):
        raise MalformedTransaction(f"{name} must be an RLP string")
    return field


def _to(field: object) -> bytes | None:
    value = _bytes(field, "to")
    if value == b"":
        return None
    if len(value) != 20:
        raise MalformedTransaction("to must be 20 bytes or empty")
    return value


def _access_list(field: object) -> AccessList:
    if not isinstance(field, list):
        raise MalformedTransaction("accessList must be a list")
    entries = []
    for item in field:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], list):
            raise MalformedTransaction("accessList entries are [address, [storageKeys]]")
        address = _bytes(item[0], "accessList address")
        if len(address) != 20:
            raise MalformedTransaction("accessList address must be 20 bytes")
        keys = []
        for key in item[1]:
            if not isinstance(key, bytes) or len(key) != 32:
                raise MalformedTransaction("accessList storage keys must be 32 bytes")
            keys.append(int.from_bytes(key, "big"))
        entries.append((address, tuple(keys)))
    return tuple(entries)


def recover_sender(msg_hash: bytes, r: int, s: int, y_parity: int) -> bytes:
    """The 20-byte address that signed msg_hash; rejects malleable (high-s) and out-of-range signatures."""
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_HALF_N):
        raise MalformedTransaction("invalid signature values (r, s out of range or high s)")
    if y_parity not in (0, 1):
        raise MalformedTransaction("invalid signature recovery id")
    sender = _recover_cached(msg_hash, r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity]))
    if sender is None:
        raise MalformedTransaction("signature does not recover a public key")
    return sender


@lru_cache(maxsize=RECOVERY_CACHE_SIZE)
def _recover_cached(msg_hash: bytes, sig: bytes) -> bytes | None:
    """Recovery is pure and a tx is recovered at admission and again in the block that carries it (proposal,
    import), so the second time is a cache hit."""
    try:
        pub = PublicKey.from_signature_and_message(sig, msg_hash, hasher=None)
    except Exception:  # coincurve raises bare Exception subclasses
        return None
    return keccak(pub.format(compressed=False)[1:])[12:]


def _decode_list(payload: bytes) -> list:
    try:
        fields = rlp_decode(payload)
    except MalformedRlp as exc:
        raise MalformedTransaction(f"invalid RLP: {exc.message}") from exc
    if not isinstance(fields, list):
        raise MalformedTransaction("transaction payload must be an RLP list")
    return fields


def intrinsic_gas(data: bytes, is_create: bool, access_list: AccessList) -> int:
    """The gas a tx costs before any code runs (Shanghai rules); a lower gas limit can never execute."""
    zeros = data.count(0)
    gas = TX_GAS + (TX_CREATE_GAS if is_create else 0) + 4 * zeros + 16 * (len(data) - zeros)
    gas += sum(2400 + 1900 * len(keys) for _, keys in access_list)
    if is_create:
        gas += 2 * ((len(data) + 31) // 32)
    return gas


def _decode_legacy(raw: bytes, chain_id: int, trusted: bytes | None) -> Transaction:
    fields = _decode_list(raw)
    if len(fields) != 9:
        raise MalformedTransaction("legacy transaction must have 9 fields")
    nonce, gas_price, gas = (_int(fields[i], n) for i, n in ((0, "nonce"), (1, "gasPrice"), (2, "gas")))
    to = _to(fields[3])
    value = _int(fields[4], "value")
    data = _bytes(fields[5], "data")
    v, r, s = _int(fields[6], "v"), _int(fields[7], "r"), _int(fields[8], "s")
    if v in (27, 28):
        raise MalformedTransaction("unprotected (pre-EIP-155) transactions are not accepted")
    if v < 35:
        raise MalformedTransaction("invalid legacy v")
    tx_chain_id = (v - 35) // 2
    if tx_chain_id != chain_id:
        raise WrongChainId(f"invalid chain id: expected {chain_id}, got {tx_chain_id}")
    if trusted is None:
        unsigned = rlp_encode([fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], chain_id, 0, 0])
        sender = recover_sender(keccak(unsigned), r, s, (v - 35) % 2)
    else:
        sender = trusted  # recovered from these very bytes elsewhere: no signing hash to compute
    return from_field_values((LEGACY, tx_chain_id, nonce, gas, gas_price, gas_price, to, value, data, (), v, r, s,
                              sender, keccak(raw), raw))


def _decode_typed(raw: bytes, chain_id: int, trusted: bytes | None) -> Transaction:
    tx_type = raw[0]
    fields = _decode_list(raw[1:])
    if tx_type == ACCESS_LIST:
        if len(fields) != 11:
            raise MalformedTransaction("type-1 transaction must have 11 fields")
        tx_chain_id, nonce, gas_price = _int(fields[0], "chainId"), _int(fields[1], "nonce"), _int(fields[2], "gasPrice")
        priority, rest = gas_price, 3
    else:
        if len(fields) != 12:
            raise MalformedTransaction("type-2 transaction must have 12 fields")
        tx_chain_id, nonce = _int(fields[0], "chainId"), _int(fields[1], "nonce")
        priority, gas_price = _int(fields[2], "maxPriorityFeePerGas"), _int(fields[3], "maxFeePerGas")
        rest = 4
    gas = _int(fields[rest], "gas")
    to = _to(fields[rest + 1])
    value = _int(fields[rest + 2], "value")
    data = _bytes(fields[rest + 3], "data")
    access_list = _access_list(fields[rest + 4])
    y_parity, r, s = (_int(fields[rest + 5 + i], n) for i, n in enumerate(("yParity", "r", "s")))
    if tx_chain_id != chain_id:
        raise WrongChainId(f"invalid chain id: expected {chain_id}, got {tx_chain_id}")
    if trusted is None:
        sender = recover_sender(keccak(_typed_signing_payload(raw, fields[rest + 5 :])), r, s, y_parity)
    else:
        sender = trusted  # recovered from these very bytes elsewhere: no signing hash to compute
    return from_field_values((tx_type, tx_chain_id, nonce, gas, gas_price, priority, to, value, data, access_list,
                              y_parity, r, s, sender, keccak(raw), raw))


def _typed_signing_payload(raw: bytes, signature: list) -> bytes:
    """type || rlp(every field but the signature), cut from the raw bytes: the fields are canonical (decode_list
    is strict), so they are the list's payload less the signature's three items, which re-encode exactly."""
    _, begin, end = payload_bounds(raw, 1, len(raw))
    unsigned = raw[begin : end - sum(len(encode_bytes(item)) for item in signature)]
    return raw[:1] + list_header(len(unsigned)) + unsigned


def decode_transaction(raw: bytes, limits: DecodeLimits, trusted_sender: bytes | None = None) -> Transaction:
    """Decode and verify one raw signed tx; raises MalformedTransaction or a TxRejected subclass.

    trusted_sender skips signature recovery for txs read back from this node's own store.
    """
    if not raw:
        raise MalformedTransaction("empty transaction")
    if len(raw) > limits.max_tx_bytes:
        raise OversizedTransaction(f"oversized data: {len(raw)} bytes > {limits.max_tx_bytes}")
    if raw[0] >= 0xC0:
        tx = _decode_legacy(raw, limits.chain_id, trusted_sender)
    elif raw[0] in (ACCESS_LIST, DYNAMIC_FEE):
        tx = _decode_typed(raw, limits.chain_id, trusted_sender)
    else:
        raise MalformedTransaction(f"unsupported transaction type {raw[0]:#x}")
    if tx.gas_limit > limits.block_gas_limit:
        raise GasLimitExceeded(f"exceeds block gas limit: {tx.gas_limit} > {limits.block_gas_limit}")
    if tx.gas_limit < intrinsic_gas(tx.data, tx.is_create, tx.access_list):
        raise MalformedTransaction(f"intrinsic gas too low: gas limit {tx.gas_limit}")
    if tx.max_priority_fee > tx.gas_price and tx.type == DYNAMIC_FEE:
        raise MalformedTransaction("max priority fee per gas higher than max fee per gas")
    return tx
