"""members.toml: the consortium a new suite starts with (bank ids, names, roles, accounts), read for the deploy.

    min_servicer_share_bps = 3000           # optional, the servicer-share floor (default 30%)
    validators = ["0x..."]                  # optional, the validators Consortium records for governance

    [[members]]
    bank_id = "WEBANK"
    name = "WeBank"
    role = "BANK"                           # or "OBSERVER" (read-only, e.g. a regulator)
    accounts = ["0x..."]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from eth_utils import is_address, is_checksum_address, to_checksum_address

from contracts.errors import MembersFileInvalid
from contracts.suite import DEFAULT_MIN_SERVICER_SHARE_BPS, ROLES, MemberSpec, SuitePlan

MAX_BANK_ID_BYTES = 32


def load_members(path: Path | str, validators: tuple[str, ...] = ()) -> SuitePlan:
    """The plan in `path`; `validators` (from the command line) replace the file's list when given."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MembersFileInvalid(f"no members file at {path}") from err
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise MembersFileInvalid(f"{path}: {err}") from err
    return parse_members(doc, str(path), validators)


def parse_members(doc: dict[str, Any], source: str, validators: tuple[str, ...] = ()) -> SuitePlan:
    rows = doc.get("members")
    if not isinstance(rows, list) or not rows:
        raise MembersFileInvalid(f"{source}: needs at least one [[members]] table")
    members = tuple(_member(row, f"{source}: members[{i}]") for i, row in enumerate(rows))
    seen: dict[str, str] = {}
    for m in members:
        if m.bank_id in seen:
            raise MembersFileInvalid(f"{source}: bank id {m.bank_id} is listed twice")
        for account in m.accounts:
            if account in seen:
                raise MembersFileInvalid(f"{source}: account {account} is listed for both {seen[account]} and {m.bank_id}")
            seen[account] = m.bank_id
        seen[m.bank_id] = m.bank_id
    if not any(m.role == "BANK" for m in members):
        raise MembersFileInvalid(f"{source}: needs at least one member with role BANK")
    chosen = validators or tuple(doc.get("validators", ()))
    share = doc.get("min_servicer_share_bps", DEFAULT_MIN_SERVICER_SHARE_BPS)
    if not isinstance(share, int) or isinstance(share, bool) or not 0 <= share <= 10_000:
        raise MembersFileInvalid(f"{source}: min_servicer_share_bps must be an integer from 0 to 10000, got {share!r}")
    return SuitePlan(members, tuple(_address(v, f"{source}: validator") for v in chosen), share)


def _member(row: Any, where: str) -> MemberSpec:
    if not isinstance(row, dict):
        raise MembersFileInvalid(f"{where} is not a table")
    unknown = sorted(set(row) - {"bank_id", "name", "role", "accounts"})
    if unknown:
        raise MembersFileInvalid(f"{where}: unknown keys {unknown}")
    bank = row.get("bank_id")
    if not isinstance(bank, str) or not bank or not bank.isascii() or len(bank) > MAX_BANK_ID_BYTES:
        raise MembersFileInvalid(f"{where}: bank_id must be 1 to {MAX_BANK_ID_BYTES} ASCII characters, got {bank!r}")
    role = row.get("role")
    if role not in ROLES:
        raise MembersFileInvalid(f"{where} ({bank}): role must be one of {sorted(ROLES)}, got {role!r}")
    name = row.get("name", bank)
    if not isinstance(name, str) or not name:
        raise MembersFileInvalid(f"{where} ({bank}): name must be a non-empty string")
    accounts = row.get("accounts")
    if not isinstance(accounts, list) or not accounts:
        raise MembersFileInvalid(f"{where} ({bank}): accounts must be a non-empty list of 0x addresses")
    return MemberSpec(bank, name, role, tuple(_address(a, f"{where} ({bank}): account") for a in accounts))


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or not is_address(value) or int(value, 16) == 0:
        raise MembersFileInvalid(f"{where} {value!r} is not a 0x address")
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise MembersFileInvalid(f"{where} {value!r} is not a 0x address: its mixed case fails the EIP-55 checksum (a typo?)")
    return to_checksum_address(value)
