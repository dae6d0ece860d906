"""key=value log lines: one event per line, values quoted only when they must be, newlines escaped."""

from __future__ import annotations

import logging
import re

_BARE = re.compile(r"[A-Za-z0-9_.:/@+\-]+")
MAX_VALUE_CHARS = 300


def format_value(value: object) -> str:
    """Render one value so that a line stays one line and parses back unambiguously."""
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "..."
    if _BARE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    # Any non-printable character (newlines, U+2028, controls) is escaped, so one event stays one line.
    escaped = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in escaped)
    return f'"{escaped}"'


def format_event(event: str, **fields: object) -> str:
    parts = [f"event={format_value(event)}"]
    parts.extend(f"{key}={format_value(value)}" for key, value in fields.items() if value is not None)
    return " ".join(parts)


def log_event(logger: logging.Logger, level: int, event: str, **fields: object) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, format_event(event, **fields))
