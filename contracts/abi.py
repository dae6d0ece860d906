"""Encode calls and decode results, events and custom errors from a contract ABI (eth_abi, the codec web3 uses).

A `SuiteCodec` merges the suite's contracts so a revert bubbling up from Consortium through CoLending still
decodes by name, and a log decodes by its emitting address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError, EncodingError

from contracts.errors import BadArguments, UndecodableData, UnknownEvent, UnknownFunction
from network.hashing import keccak256 as keccak

ERROR_STRING_SELECTOR = keccak(b"Error(string)")[:4]
PANIC_SELECTOR = keccak(b"Panic(uint256)")[:4]


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI parameter, expanding tuples: `(bytes32,uint16)[]`."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(abi_type(p) for p in item.get('inputs', []))})"


@dataclass(frozen=True)
class DecodedEvent:
    """A log decoded by its ABI: the event name, its arguments by name, and where it came from."""

    name: str
    args: dict[str, Any]
    address: str = ""


@dataclass(frozen=True)
class DecodedError:
    """A revert decoded as a custom error (or Error(string) / Panic(uint256))."""

    name: str
    args: dict[str, Any]

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.args.items())
        return f"{self.name}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        from contracts.ids import id_text

        return id_text(value) if len(value) == 32 else "0x" + value.hex()
    return repr(value)


class _Function:
    def __init__(self, item: Mapping[str, Any]) -> None:
        self.name = str(item["name"])
        self.inputs: list[Mapping[str, Any]] = list(item.get("inputs", []))
        self.outputs: list[Mapping[str, Any]] = list(item.get("outputs", []))
        self.input_types = [abi_type(p) for p in self.inputs]
        self.output_types = [abi_type(p) for p in self.outputs]
        self.selector = keccak(signature(item).encode())[:4]
        self.mutability = item.get("stateMutability", "nonpayable")


class ContractCodec:
    """The ABI of one contract, indexed for encoding calls and decoding what comes back."""

    def __init__(self, abi: Iterable[Mapping[str, Any]], name: str = "contract") -> None:
        self.name = name
        self.functions: dict[str, _Function] = {}
        self.constructor_types: list[str] = []
        self.constructor_inputs: list[Mapping[str, Any]] = []
        self.events: dict[bytes, Mapping[str, Any]] = {}
        self.event_topics: dict[str, bytes] = {}
        self.errors: dict[bytes, Mapping[str, Any]] = {}
        for item in abi:
            kind = item.get("type")
            if kind == "function":
                self.functions[str(item["name"])] = _Function(item)
            elif kind == "constructor":
                self.constructor_inputs = list(item.get("inputs", []))
                self.constructor_types = [abi_type(p) for p in self.constructor_inputs]
            elif kind == "event":
                topic = keccak(signature(item).encode())
                self.events[topic] = item
                self.event_topics[str(item["name"])] = topic
            elif kind == "error":
                self.errors[keccak(signature(item).encode())[:4]] = item

    # ------------------------------------------------------------------ calls

    def function(self, name: str) -> _Function:
        try:
            return self.functions[name]
        except KeyError:
            raise UnknownFunction(f"{self.name} has no function {name!r}") from None

    def encode_call(self, name: str, *args: Any) -> bytes:
        fn = self.function(name)
        return fn.selector + _encode(fn.inputs, fn.input_types, args, f"{self.name}.{name}")

    def encode_deploy(self, bytecode: bytes, *args: Any) -> bytes:
        return bytecode + _encode(self.constructor_inputs, self.constructor_types, args, f"{self.name} constructor")

    def decode_output(self, name: str, data: bytes) -> Any:
        """The return value: None for no outputs, the value for one, a tuple for several."""
        fn = self.function(name)
        try:
            values = decode(fn.output_types, data)
        except (DecodingError, ValueError, OverflowError) as err:
            raise UndecodableData(f"{self.name}.{name} returned undecodable data: {err}") from err
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ events and errors

    def topic(self, event_name: str) -> bytes:
        try:
            return self.event_topics[event_name]
        except KeyError:
            raise UnknownEvent(f"{self.name} has no event {event_name!r}") from None

    def decode_log(self, topics: Sequence[bytes], data: bytes, address: str = "") -> DecodedEvent:
        if not topics or topics[0] not in self.events:
            raise UnknownEvent(f"log is not an event of {self.name}")
        item = self.events[topics[0]]
        inputs = item["inputs"]
        indexed = [p for p in inputs if p.get("indexed")]
        plain = [p for p in inputs if not p.get("indexed")]
        if len(topics) != len(indexed) + 1:
            raise UndecodableData(f"{item['name']}: expected {len(indexed) + 1} topics, got {len(topics)}")
        try:
            plain_values = iter(decode([abi_type(p) for p in plain], data))
            args: dict[str, Any] = {}
            topic_iter = iter(topics[1:])
            for p in inputs:
                if p.get("indexed"):
                    t = abi_type(p)
                    raw = next(topic_iter)
                    # Indexed dynamic values are stored as their hash: keep the 32 bytes.
                    args[p["name"]] = raw if _is_dynamic(t) else decode([t], raw)[0]
                else:
                    args[p["name"]] = next(plain_values)
        except (DecodingError, ValueError, OverflowError) as err:
            raise UndecodableData(f"{item['name']}: undecodable log data: {err}") from err
        return DecodedEvent(str(item["name"]), args, address)

    def decode_error(self, data: bytes) -> DecodedError | None:
        """The revert as a named error, or None when the bytes match no error this ABI knows."""
        return _decode_error(self.errors, data)


class SuiteCodec:
    """Several contracts' codecs, for decoding logs by address and reverts whichever contract raised them."""

    def __init__(self, codecs: Mapping[str, ContractCodec], addresses: Mapping[str, str] | None = None) -> None:
        self.codecs = dict(codecs)
        self.by_address = {a.lower(): self.codecs[n] for n, a in (addresses or {}).items()}
        self.errors: dict[bytes, Mapping[str, Any]] = {}
        for codec in self.codecs.values():
            self.errors.update(codec.errors)

    def __getitem__(self, name: str) -> ContractCodec:
        return self.codecs[name]

    def decode_log(self, address: str, topics: Sequence[bytes], data: bytes) -> DecodedEvent:
        codec = self.by_address.get(address.lower())
        if codec is None:
            raise UnknownEvent(f"log from {address}, which is not a suite contract")
        return codec.decode_log(topics, data, address)

    def decode_error(self, data: bytes) -> DecodedError | None:
        return _decode_error(self.errors, data)


def _decode_error(errors: Mapping[bytes, Mapping[str, Any]], data: bytes) -> DecodedError | None:
    if len(data) < 4:
        return None
    selector, body = data[:4], data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            return DecodedError("Error", {"message": decode(["string"], body)[0]})
        if selector == PANIC_SELECTOR:
            return DecodedError("Panic", {"code": decode(["uint256"], body)[0]})
        item = errors.get(selector)
        if item is None:
            return None
        values = decode([abi_type(p) for p in item["inputs"]], body)
    except (DecodingError, ValueError, OverflowError):
        return None
    return DecodedError(str(item["name"]), {p["name"]: v for p, v in zip(item["inputs"], values, strict=True)})


def _is_dynamic(t: str) -> bool:
    return t in ("string", "bytes") or t.endswith("[]") or t.startswith("(")


def _encode(params: Sequence[Mapping[str, Any]], types: Sequence[str], args: Sequence[Any], where: str) -> bytes:
    if len(args) != len(params):
        raise BadArguments(f"{where} takes {len(params)} argument(s), got {len(args)}")
    values = [_normalize(p, a, f"{where}: {p.get('name') or '#'}") for p, a in zip(params, args, strict=True)]
    try:
        return encode(list(types), values)
    except (EncodingError, TypeError, ValueError, OverflowError) as err:
        raise BadArguments(f"{where}: {err}") from err


def _normalize(param: Mapping[str, Any], value: Any, where: str) -> Any:
    """Accepts structs as mappings by field name or as sequences, recursively; leaves the rest to eth_abi."""
    kind = str(param["type"])
    if kind.endswith("]"):
        if not isinstance(value, list | tuple):
            raise BadArguments(f"{where}: expected a list, got {type(value).__name__}")
        element = dict(param)
        element["type"] = kind[: kind.rindex("[")]
        return [_normalize(element, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "tuple":
        components = param["components"]
        if isinstance(value, Mapping):
            missing = [c["name"] for c in components if c["name"] not in value]
            extra = sorted(set(value) - {c["name"] for c in components})
            if missing or extra:
                raise BadArguments(f"{where}: missing fields {missing}, unknown fields {extra}")
            value = [value[c["name"]] for c in components]
        if not isinstance(value, list | tuple) or len(value) != len(components):
            raise BadArguments(f"{where}: expected a struct of {len(components)} fields")
        return tuple(_normalize(c, v, f"{where}.{c['name']}") for c, v in zip(components, value, strict=True))
    if kind.startswith(("uint", "int")):
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadArguments(f"{where}: expected an integer for {kind}, got {type(value).__name__}")
        bits = int(kind.lstrip("uint") or 256)
        low, high = (0, 2**bits - 1) if kind.startswith("uint") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not low <= value <= high:
            raise BadArguments(f"{where}: {value} is out of range for {kind}")
    elif kind.startswith("bytes") and kind != "bytes":
        size = int(kind[5:])
        if not isinstance(value, bytes | bytearray) or len(value) != size:
            got = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else type(value).__name__
            raise BadArguments(f"{where}: expected {size} bytes, got {got}")
    elif kind == "address" and not isinstance(value, str):
        raise BadArguments(f"{where}: expected a 0x address string, got {type(value).__name__}")
    return value
