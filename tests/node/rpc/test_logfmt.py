"""Log lines stay one line and key=value parseable whatever the values hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.rpc.logfmt import MAX_VALUE_CHARS, format_event, format_value


def test_bare_and_quoted_values() -> None:
    assert format_event("rpc_error", method="eth_call", code=-32602, skipped=None) == (
        "event=rpc_error method=eth_call code=-32602"
    )
    assert format_value('say "hi"\nnext') == '"say \\"hi\\"\\nnext"'
    assert format_value("abc\n") == '"abc\\n"'
    assert format_value("") == '""'
    assert format_value("x" * 1000) == "x" * MAX_VALUE_CHARS + "..."
    assert format_value("a\u2028b\x00") == '"a\\u2028b\\x00"'


@given(st.text())
def test_any_value_stays_on_one_line(text: str) -> None:
    line = format_event("e", value=text)
    assert len(line.splitlines()) == 1
    assert line.startswith("event=e value=")
