"""Request bodies to JSON values, safely: one parse for the dispatcher and for the batch-preparing workers.

The C decoder recurses, so nesting is bounded before it runs; NaN and Infinity are not JSON."""

from __future__ import annotations

import json
import re

MAX_JSON_DEPTH = 64  # Ethereum JSON-RPC requests nest a handful of levels
# A JSON string (an unterminated one runs to the end), written as an unrolled loop: runs of plain characters are
# matched in one step, and a backslash and a plain character never compete, so it stays linear on hostile input.
_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def parse_json(text: str) -> object:
    """The value of a request body; ValueError (bad JSON, too deep, NaN) or RecursionError otherwise."""
    check_depth(text)
    return json.loads(text, parse_constant=_reject_constant)


def check_depth(text: str) -> None:
    """Refuse deeply nested JSON before decoding it: the C decoder recurses, and a raised recursion limit
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
