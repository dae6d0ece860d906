"""Receipts and logs as stored and committed to; block/tx coordinates are added when rendered."""

from __future__ import annotations

from dataclasses import dataclass

import rlp

from node.rlp_codec import encode as rlp_encode
from node.rlp_codec import encode_bytes, encode_list_of_encoded, encode_uint, list_header

_TOPIC_PREFIX = b"\xa0"  # RLP string header for 32 bytes
_ADDRESS_PREFIX = b"\x94"  # and for 20


def _encode_log(log: Log) -> bytes:
    """rlp_encode(log.fields()), framed by hand: logs dominate big receipts."""
    address = log.address
    topics = b"".join([_TOPIC_PREFIX + t if len(t) == 32 else rlp_encode(t) for t in log.topics])
    body = b"".join((_ADDRESS_PREFIX + address if len(address) == 20 else encode_bytes(address), list_header(len(topics)),
                     topics, encode_bytes(log.data)))
    return list_header(len(body)) + body


@dataclass(frozen=True, slots=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes

    def fields(self) -> list:
        return [self.address, list(self.topics), self.data]


@dataclass(frozen=True, slots=True)
class Receipt:
    status: int  # 1 success, 0 reverted/halted
    gas_used: int
    cumulative_gas_used: int
    logs: tuple[Log, ...]
    contract_address: bytes | None
    revert_data: bytes = b""

    def fields(self) -> list:
        return [self.status, self.gas_used, self.cumulative_gas_used, [log.fields() for log in self.logs],
                self.contract_address or b"", self.revert_data]

    def logs_rlp(self) -> bytes:
        """The RLP list of the logs, which both encodings share: compute it once for both in a block."""
        return encode_list_of_encoded([_encode_log(log) for log in self.logs])

    def encode(self, logs_rlp: bytes | None = None) -> bytes:
        """Same bytes as rlp_encode(self.fields()); logs are framed by hand since they dominate big receipts."""
        logs = self.logs_rlp() if logs_rlp is None else logs_rlp
        return encode_list_of_encoded([encode_uint(self.status), encode_uint(self.gas_used),
                                       encode_uint(self.cumulative_gas_used), logs,
                                       encode_bytes(self.contract_address or b""), encode_bytes(self.revert_data)])

    def consensus_encoding(self, tx_type: int, bloom: bytes, logs_rlp: bytes | None = None) -> bytes:
        """Ethereum's receipt (EIP-2718: type || rlp([status, cumulativeGasUsed, logsBloom, logs]), legacy
        untyped), what receiptsRoot commits to; logs framed by hand as in encode()."""
        logs = self.logs_rlp() if logs_rlp is None else logs_rlp
        body = encode_list_of_encoded([encode_uint(self.status), encode_uint(self.cumulative_gas_used),
                                       encode_bytes(bloom), logs])
        return body if tx_type == 0 else bytes([tx_type]) + body

    @classmethod
    def from_fields(cls, f: list) -> Receipt:
        n = rlp.sedes.big_endian_int.deserialize
        logs = tuple(Log(a, tuple(t), d) for a, t, d in f[3])
        return cls(n(f[0]), n(f[1]), n(f[2]), logs, f[4] or None, f[5])
