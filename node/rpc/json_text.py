"""Request bodies to JSON values and replies to text, safely and fast: one parse for the dispatcher and for the
batch-preparing workers, one encoder for replies.

orjson (Rust) parses and encodes a 100-tx batch several times faster than the standard library, and it bounds its
own recursion (1,024 levels), so it cannot overflow the C stack; the 64-level limit is then checked on the parsed
value, at a cost per container rather than per byte. Where orjson refuses what JSON allows (lone surrogate escapes)
or reads it inexactly (it turns integers past 64 bits into floats), the standard decoder decides, behind a bracket
scan, since it recurses in C; its answers and messages are the ones clients got before. NaN and Infinity are not
JSON on either path.
"""

from __future__ import annotations

import json
import re

import orjson

MAX_JSON_DEPTH = 64  # Ethereum JSON-RPC requests nest a handful of levels
# A JSON string (an unterminated one runs to the end), written as an unrolled loop: runs of plain characters are
# matched in one step, and a backslash and a plain character never compete, so it stays linear on hostile input.
_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_REPLY_FALLBACK = json.JSONEncoder(allow_nan=False)  # json.dumps with a non-default option builds one per call
_EXACT_FLOAT = 2.0**53  # a float at or past this may be an integer orjson could not hold


class _Inexact(Exception):
    """orjson's value may differ from the text's (a huge integer read as a float)."""


def parse_json(body: str | bytes) -> object:
    """The value of a request body; ValueError (bad JSON or UTF-8, too deep, NaN) or RecursionError otherwise."""
    try:
        value = orjson.loads(body)
        _check_value(value)
        return value
    except (orjson.JSONDecodeError, _Inexact):
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        check_depth(text)
        return json.loads(text, parse_constant=_reject_constant)


def encode_reply(message: dict[str, object]) -> str:
    """A reply object as JSON text; the standard encoder takes what orjson cannot (integers past 64 bits)."""
    try:
        return orjson.dumps(message).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _REPLY_FALLBACK.encode(message)


def _check_value(value: object) -> None:
    """Depth at most MAX_JSON_DEPTH (ValueError), and no float that may stand for a huge integer (_Inexact)."""
    level: list[object] = [value]
    depth = 0  # how many containers hold the items of `level`
    while level:
        deeper: list[object] = []
        for item in level:
            if isinstance(item, dict | list) and depth >= MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
            elif isinstance(item, float) and abs(item) >= _EXACT_FLOAT:
                raise _Inexact
        level = deeper
        depth += 1


def check_depth(text: str) -> None:
    """Refuse deeply nested JSON before the standard decoder runs: it recurses, and a raised recursion limit
    would let a bracket bomb overflow the C stack and kill the node instead of raising."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    # Strings out, brackets only (done by the regex engine: a batch of raw txs is mostly long hex strings).
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def valid_id(value: object) -> bool:
    """A JSON-RPC id: a string, a number or null."""
    return value is None or isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))
