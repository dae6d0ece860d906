"""The ledger groups a consortium is made of, planned from `--groups` before any file is written.

A group is named by its banks, lowercase, in the order given (`WEBANK+XWBANK` -> `webank-xwbank`), and has
its own chain id: the consortium's base chain id + 1 + its index in `--groups`, so no two groups (nor the
base id) share one. Without `--groups` there is one group of every bank, DEFAULT_GROUP, on the base chain id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from colend.errors import BankInNoGroup, DuplicateGroup, GroupTooSmall, InvalidGroups, UnknownGroupBank
from node.config import DEFAULT_GROUP, GROUP_NAME

MIN_GROUP_BANKS = 2


@dataclass(frozen=True)
class GroupPlan:
    name: str
    chain_id: int
    members: tuple[str, ...]  # its banks, in the order given


def group_name(members: tuple[str, ...]) -> str:
    return "-".join(member.lower() for member in members)


def group_chain_id(base_chain_id: int, index: int) -> int:
    """The chain id of the index-th group of `--groups` (from 0)."""
    return base_chain_id + 1 + index


def parse_groups(text: str) -> list[tuple[str, ...]]:
    """`A+B,A+C` -> [(A, B), (A, C)], ids upper-cased as `--banks` are."""
    groups = []
    for part in text.split(","):
        members = tuple(m.strip().upper() for m in part.split("+"))
        if not part.strip() or not all(members):
            raise InvalidGroups(f"--groups: {part.strip()!r} is not a group; write banks joined by '+', "
                                f"groups by ',' (e.g. WEBANK+XWBANK,MYBANK+XWBANK)")
        groups.append(members)
    return groups


def plan_groups(groups: list[tuple[str, ...]] | None, banks: list[str], observers: list[str],
                base_chain_id: int) -> tuple[GroupPlan, ...]:
    """The groups to create; refuses a group that is too small, names an unknown bank or repeats another, and
    a bank in no group."""
    if groups is None:
        return (GroupPlan(DEFAULT_GROUP, base_chain_id, tuple(banks)),)
    plans: list[GroupPlan] = []
    for index, members in enumerate(groups):
        plans.append(plan_group(members, banks, observers, plans, group_chain_id(base_chain_id, index)))
    idle = [bank for bank in banks if not any(bank in plan.members for plan in plans)]
    if idle:
        raise BankInNoGroup(f"--groups: {', '.join(idle)} in no group: its nodes would hold no ledger; "
                            f"add a group or leave it out of --banks")
    return tuple(plans)


def plan_group(members: tuple[str, ...], banks: list[str], observers: list[str], existing: Sequence[GroupPlan],
               chain_id: int, flag: str = "--groups") -> GroupPlan:
    """One group beside `existing` ones (`flag` names the option it came from, for the refusals)."""
    check_members(members, banks, observers, flag)
    name = group_name(members)
    for plan in existing:
        if set(plan.members) == set(members) or plan.name == name:
            raise DuplicateGroup(f"{flag}: {'+'.join(members)} has the same banks as {plan.name}")
    if not GROUP_NAME.fullmatch(name) or name == DEFAULT_GROUP:
        raise InvalidGroups(f"{flag}: {'+'.join(members)} makes the group name {name!r}, not 1 to 40 "
                            f"lowercase letters, digits or '-' (it is a URL path and a folder)")
    return GroupPlan(name, chain_id, members)


def check_members(members: tuple[str, ...], banks: list[str], observers: list[str], flag: str = "--groups") -> None:
    joined = "+".join(members)
    for member in members:
        if member in observers:
            raise UnknownGroupBank(f"{flag}: {joined} names {member}, an observer: observers are in every group")
        if member not in banks:
            raise UnknownGroupBank(f"{flag}: {joined} names {member}, not a bank of the consortium ({', '.join(banks)})")
    if len(set(members)) != len(members):
        raise InvalidGroups(f"{flag}: {joined} names a bank twice")
    if len(members) < MIN_GROUP_BANKS:
        raise GroupTooSmall(f"{flag}: {joined} has fewer than {MIN_GROUP_BANKS} banks; a group is a lending "
                            f"relationship between banks")
