"""Strict parsing of Ethereum JSON-RPC parameter values: hex quantities and data, addresses, hashes, block tags.

The rules follow geth's hexutil so that clients written against geth behave identically here: quantities have a
0x prefix and no leading zeros, data has an even number of digits, sizes are exact. Every failure raises
`InvalidParams` naming what was wrong and where (`what` is the caller's label, e.g. "argument 0 (address)").
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from node.errors import InvalidParams
from node.rpc.backend.api import BLOCK_TAGS, BlockTag, CallRequest

ADDRESS_BYTES = 20
HASH_BYTES = 32
UINT64_BITS = 64
UINT256_BITS = 256
INT64_MAX = 2**63 - 1

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


@dataclass(frozen=True)
class BlockHashRef:
    """An EIP-1898 block reference by hash; the method resolves it against the chain."""

    block_hash: bytes
    require_canonical: bool = False


BlockRef = BlockTag | BlockHashRef  # a number, a tag from BLOCK_TAGS, or a hash reference


def _fail(what: str, reason: str) -> InvalidParams:
    return InvalidParams(f"invalid {what}: {reason}")


def _hex_body(value: object, what: str) -> str:
    """The digits after the 0x prefix, checked to be hex (Python's int() and fromhex() accept '_' and spaces)."""
    if not isinstance(value, str):
        raise _fail(what, f"expected a 0x-prefixed hex string, got {json_type(value)}")
    if value == "":
        raise _fail(what, "empty hex string")
    if not value.startswith(("0x", "0X")):
        raise _fail(what, "hex string without 0x prefix")
    body = value[2:]
    if not _HEX_DIGITS.fullmatch(body):
        raise _fail(what, "invalid hex string")
    return body


def parse_quantity(value: object, what: str, *, bits: int = UINT256_BITS) -> int:
    """A hex quantity: 0x-prefixed, at least one digit, no leading zeros, at most `bits` bits."""
    body = _hex_body(value, what)
    if body == "":
        raise _fail(what, 'hex string "0x"')
    if len(body) > 1 and body[0] == "0":
        raise _fail(what, "hex number with leading zero digits")
    number = int(body, 16)
    if number.bit_length() > bits:
        raise _fail(what, f"hex number > {bits} bits")
    return number


def parse_uint64(value: object, what: str) -> int:
    return parse_quantity(value, what, bits=UINT64_BITS)


def parse_count(value: object, what: str) -> int:
    """A small count sent either as a hex quantity or a JSON integer (clients differ, e.g. feeHistory)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or value.bit_length() > UINT64_BITS:
            raise _fail(what, "integer out of range")
        return value
    return parse_uint64(value, what)


def parse_data(value: object, what: str, *, size: int | None = None, max_size: int | None = None) -> bytes:
    """Hex data: 0x-prefixed, even number of digits; exactly `size` bytes or at most `max_size` when given."""
    body = _hex_body(value, what)
    if len(body) % 2:
        raise _fail(what, "hex string of odd length")
    if size is not None and len(body) != 2 * size:
        raise _fail(what, f"hex string has length {len(body)}, want {2 * size}")
    if max_size is not None and len(body) > 2 * max_size:
        raise _fail(what, f"hex data of {len(body) // 2} bytes exceeds {max_size} bytes")
    return bytes.fromhex(body)


def parse_address(value: object, what: str) -> bytes:
    """20 bytes. Mixed-case input is accepted without an EIP-55 check, as geth does."""
    return parse_data(value, what, size=ADDRESS_BYTES)


def parse_hash(value: object, what: str) -> bytes:
    return parse_data(value, what, size=HASH_BYTES)


def parse_storage_slot(value: object, what: str) -> int:
    """A storage key: up to 32 bytes of hex, leading zeros allowed (clients send both 0x0 and padded words)."""
    body = _hex_body(value, what)
    if body == "":
        raise _fail(what, 'hex string "0x"')
    if len(body) > 2 * HASH_BYTES:
        raise _fail(what, f"hex string has length {len(body)}, want at most {2 * HASH_BYTES}")
    return int(body, 16)


def parse_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(what, f"expected a boolean, got {json_type(value)}")
    return value


def parse_block_number(value: object, what: str) -> BlockTag:
    """A block tag, or a number as an int."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return value
    if isinstance(value, str) and not value.startswith(("0x", "0X")):
        raise _fail(what, f"unknown block tag {value[:40]!r}, want one of {', '.join(sorted(BLOCK_TAGS))} or a number")
    number = parse_quantity(value, what)
    if number > INT64_MAX:
        raise _fail(what, "block number larger than int64")
    return number


def parse_block_id(value: object, what: str) -> BlockRef:
    """A block number, tag or hash (execution-apis' BlockNumberOrTagOrHash; as geth, a string of 32 bytes is a
    hash), or an EIP-1898 object."""
    if isinstance(value, str) and len(value) == 2 + 2 * HASH_BYTES:
        return BlockHashRef(parse_hash(value, what))
    return parse_block_ref(value, what)


def parse_block_ref(value: object, what: str) -> BlockRef:
    """A block number or tag, or an EIP-1898 object {blockNumber} / {blockHash, requireCanonical}."""
    if not isinstance(value, dict):
        return parse_block_number(value, what)
    unknown = set(value) - {"blockNumber", "blockHash", "requireCanonical"}
    if unknown:
        raise _fail(what, f"unknown block reference field(s) {', '.join(sorted(unknown))}")
    has_number, has_hash = "blockNumber" in value, "blockHash" in value
    if has_number == has_hash:
        raise _fail(what, "a block reference needs exactly one of blockNumber and blockHash")
    if has_number:
        if "requireCanonical" in value:
            raise _fail(what, "requireCanonical only goes with blockHash")
        return parse_block_number(value["blockNumber"], f"{what}.blockNumber")
    canonical = value.get("requireCanonical", False)
    return BlockHashRef(
        parse_hash(value["blockHash"], f"{what}.blockHash"),
        parse_bool(canonical, f"{what}.requireCanonical"),
    )


_CALL_QUANTITIES = ("gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "chainId")


def parse_call_object(value: object, what: str) -> CallRequest:
    """A transaction call object for eth_call / eth_estimateGas, as the typed request the node executes.

    Every known field is checked strictly, fee fields and the access list included (then unused: gas is free);
    unknown ones are dropped, as geth's decoder does, so that newer clients sending extra fields keep working.
    """
    if not isinstance(value, dict):
        raise _fail(what, f"expected a transaction object, got {json_type(value)}")
    address = {key: parse_address(value[key], f"{what}.{key}") for key in ("from", "to") if value.get(key) is not None}
    quantity = {key: parse_quantity(value[key], f"{what}.{key}") for key in _CALL_QUANTITIES if value.get(key) is not None}
    if value.get("nonce") is not None:
        parse_uint64(value["nonce"], f"{what}.nonce")
    if value.get("type") is not None:
        parse_quantity(value["type"], f"{what}.type", bits=8)
    if "gasPrice" in quantity and ("maxFeePerGas" in quantity or "maxPriorityFeePerGas" in quantity):
        raise _fail(what, "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if value.get("accessList") is not None:
        parse_access_list(value["accessList"], f"{what}.accessList")
    return CallRequest(sender=address.get("from"), to=address.get("to"), data=_parse_call_input(value, what) or b"",
                       value=quantity.get("value", 0), gas=quantity.get("gas"))


def _parse_call_input(value: dict[str, object], what: str) -> bytes | None:
    data = value.get("data")
    input_ = value.get("input")
    parsed_data = parse_data(data, f"{what}.data") if data is not None else None
    parsed_input = parse_data(input_, f"{what}.input") if input_ is not None else None
    if parsed_data is not None and parsed_input is not None and parsed_data != parsed_input:
        raise _fail(what, 'both "data" and "input" are set and not equal')
    return parsed_input if parsed_input is not None else parsed_data


def parse_access_list(value: object, what: str) -> list[tuple[bytes, list[bytes]]]:
    """(address, storage keys) pairs."""
    if not isinstance(value, list):
        raise _fail(what, f"expected an array, got {json_type(value)}")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise _fail(f"{what}[{i}]", f"expected an object, got {json_type(entry)}")
        keys = entry.get("storageKeys", [])
        if not isinstance(keys, list):
            raise _fail(f"{what}[{i}].storageKeys", f"expected an array, got {json_type(keys)}")
        out.append((parse_address(entry.get("address"), f"{what}[{i}].address"),
                    [parse_hash(key, f"{what}[{i}].storageKeys[{j}]") for j, key in enumerate(keys)]))
    return out


def format_quantity(number: int) -> str:
    if number < 0:
        raise ValueError(f"a JSON-RPC quantity cannot be negative: {number}")
    return hex(number)


def random_id() -> str:
    """A filter or subscription id: 128 random bits as a quantity (no leading zeros, as geth's ids and
    execution-apis' uint)."""
    return format_quantity(secrets.randbits(128))


def format_data(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages a client can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
