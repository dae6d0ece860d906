"""members.toml: the consortium a deploy starts with; every mistake is refused by name before any tx is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import MembersFileInvalid
from contracts.members_file import load_members

WE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MY = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
VALIDATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "members.toml"
    path.write_text(text)
    return path


def member(bank: str, account: str, role: str = "BANK") -> str:
    return f'[[members]]\nbank_id = "{bank}"\nname = "{bank.title()}"\nrole = "{role}"\naccounts = ["{account}"]\n'


def test_a_members_file_becomes_the_plan(tmp_path: Path) -> None:
    text = f'min_servicer_share_bps = 2500\nvalidators = ["{VALIDATOR.lower()}"]\n' + member("WEBANK", WE.lower()) + member(
        "REGULATOR", MY, "OBSERVER")  # fmt: skip
    plan = load_members(write(tmp_path, text))
    assert [(m.bank_id, m.role, m.accounts) for m in plan.members] == [
        ("WEBANK", "BANK", (WE,)), ("REGULATOR", "OBSERVER", (MY,))]  # fmt: skip
    assert plan.validators == (VALIDATOR,) and plan.min_servicer_share_bps == 2500
    assert load_members(write(tmp_path, text), validators=(MY,)).validators == (MY,)  # the command line wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs at least one [[members]] table"),
        (member("WEBANK", WE) + member("WEBANK", MY), "bank id WEBANK is listed twice"),
        (member("WEBANK", WE) + member("MYBANK", WE), f"account {WE} is listed for both WEBANK and MYBANK"),
        (member("WEBANK", WE, "ADMIN"), "role must be one of ['BANK', 'OBSERVER'], got 'ADMIN'"),
        (member("REGULATOR", WE, "OBSERVER"), "needs at least one member with role BANK"),
        (member("WEBANK", "0x70997970c51812dc3a010c7d01b50e0d17dc79C8"), "is not a 0x address"),  # bad checksum
        (member("WEBANK", "0x" + "00" * 20), "is not a 0x address"),
        (member("W" * 33, WE), "bank_id must be 1 to 32 ASCII characters"),
        (member("WEBANK", WE) + 'colour = "red"\n', "unknown keys ['colour']"),
        ("min_servicer_share_bps = 10001\n" + member("WEBANK", WE), "min_servicer_share_bps must be an integer from 0 to 10000"),
        ("[[members\n", "members.toml"),
    ],
)
def test_mistakes_are_refused_by_name(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MembersFileInvalid, match=r"members\.toml") as err:
        load_members(write(tmp_path, text))
    assert message in err.value.message and err.value.code == "contracts.members_file_invalid"


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MembersFileInvalid, match="no members file at"):
        load_members(tmp_path / "nope.toml")
