"""The summary reads at any width: a table where it fits, one block per row where it does not, nothing cut."""

from __future__ import annotations

import io

from rich.console import Console

from colend.demo.services import ApiKey
from colend.demo.summary import Listing, print_listing, print_services


def render(listing: Listing, width: int) -> str:
    buffer = io.StringIO()
    print_listing(Console(file=buffer, width=width, color_system=None), listing)
    return buffer.getvalue()


def sample() -> Listing:
    listing = Listing("Breaks", ("bank", "break", "key"), right=())
    listing.add_row("WEBANK", "MISSING_IN_BOOKS", "0x" + "ab" * 32)
    listing.add_row("HRBANK", "DATE_MISMATCH", "RP-WEBANK-000005-03/HRBANK/INTEREST\nsecond line")
    return listing


def test_a_wide_terminal_gets_a_table() -> None:
    text = render(sample(), 100)
    assert "┃ bank" in text and "…" not in text
    assert "0x" + "ab" * 32 in text
    assert text.splitlines()[0].strip() == "Breaks", "the title on its own line"


def test_a_middling_terminal_folds_long_cells_in_the_table_and_cuts_nothing() -> None:
    text = render(sample(), 70)
    assert "┃ bank" in text and "…" not in text
    assert all(len(line) <= 70 for line in text.splitlines())
    key_cells = "".join(line.split("│")[3].strip() for line in text.splitlines() if line.startswith("│"))
    assert "0x" + "ab" * 32 in key_cells


def test_a_narrow_terminal_gets_one_block_per_row_with_every_character() -> None:
    text = render(sample(), 40)
    assert "┃" not in text and "…" not in text
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "break: MISSING_IN_BOOKS" in " ".join(text.split())
    assert ("ab" * 32) in "".join(line.split(": ")[-1].strip() for line in text.splitlines() if "ab" in line)


def test_an_empty_listing_prints_its_title() -> None:
    assert "Breaks" in render(Listing("Breaks", ("bank",)), 40)


def test_api_keys_are_printed_whole_even_in_a_narrow_terminal() -> None:
    buffer = io.StringIO()
    key = ApiKey("webank-officer-a", "CLEARING_OFFICER", "webank-officer-a." + "x" * 40)
    print_services(Console(file=buffer, width=40, color_system=None), {"WEBANK": "http://127.0.0.1:1"}, {"WEBANK": [key]})
    assert f"  CLEARING_OFFICER {key.secret}" in buffer.getvalue().splitlines()
