"""Deploys the Colend suite (Consortium, Clearing, CoLending) in order and wires it, on a pyrevm EVM.

Used to build the genesis state of a chain and by tests and benches. `Suite` adds name-based calls
(`suite.transact(sender, "CoLending", "repay", {...})`) over an `EvmSession`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pyrevm import EVM

from contracts.abi import ContractCodec
from contracts.artifacts import SUITE, load_artifact
from contracts.enums import MEMBER_ROLE
from contracts.errors import BadArguments, ContractReverted
from contracts.evm import EvmSession, TxOutcome
from contracts.ids import bank_id

ROLES = {name: value for value, name in MEMBER_ROLE.items()}
# The 30% floor of the 2021 notice on the cooperating party's share of each joint loan: in the platform model,
# the servicer's tranche. The per-partner minimum starts at 1 bps in the contract; both change by governance.
DEFAULT_MIN_SERVICER_SHARE_BPS = 3_000


@dataclass(frozen=True)
class MemberSpec:
    """A consortium member at genesis: bank id (<= 32 ASCII chars), display name, role, accounts (0x addresses)."""

    bank_id: str
    name: str
    role: Literal["BANK", "OBSERVER"]
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class SuiteAddresses:
    consortium: str
    colending: str
    clearing: str

    def as_dict(self) -> dict[str, str]:
        return {"Consortium": self.consortium, "CoLending": self.colending, "Clearing": self.clearing}


def suite_codecs() -> dict[str, ContractCodec]:
    return {name: ContractCodec(load_artifact(name).abi, name) for name in SUITE}


def member_init(members: Sequence[MemberSpec]) -> list[tuple[bytes, str, int, list[str]]]:
    out = []
    for m in members:
        if m.role not in ROLES:
            raise BadArguments(f"member {m.bank_id}: role must be BANK or OBSERVER, got {m.role!r}")
        out.append((bank_id(m.bank_id), m.name, ROLES[m.role], list(m.accounts)))
    return out


@dataclass(frozen=True)
class SuitePlan:
    """What a new suite starts with: its members, the validators it records and the servicer-share floor."""

    members: tuple[MemberSpec, ...]
    validators: tuple[str, ...] = ()
    min_servicer_share_bps: int = DEFAULT_MIN_SERVICER_SHARE_BPS

    def constructor_args(self, contract: str, deployed: Mapping[str, str]) -> tuple[Any, ...]:
        """The constructor arguments of `contract`, given the addresses of those deployed before it (SUITE order)."""
        if contract == "Consortium":
            return (member_init(self.members), list(self.validators), self.min_servicer_share_bps)
        if contract == "Clearing":
            return (deployed["Consortium"],)
        if contract == "CoLending":
            return (deployed["Consortium"], deployed["Clearing"])
        raise BadArguments(f"{contract} is not a contract of the suite")


# After all three are deployed, the deployer names CoLending in Clearing (once): Clearing.bindCoLending(CoLending).
BIND_CALL = ("Clearing", "bindCoLending")


def deploy_suite(
    evm: EVM,
    deployer: str,
    members: Sequence[MemberSpec],
    validators: Sequence[str],
    min_servicer_share_bps: int = DEFAULT_MIN_SERVICER_SHARE_BPS,
) -> SuiteAddresses:
    """Deploys Consortium, Clearing, CoLending from `deployer` (addresses follow its nonce) and binds them."""
    return Suite.deploy(EvmSession(evm), deployer, members, validators, min_servicer_share_bps).addresses


class Suite:
    """The deployed suite on one session, called by contract name."""

    def __init__(self, session: EvmSession, addresses: SuiteAddresses, codecs: dict[str, ContractCodec]) -> None:
        self.session = session
        self.addresses = addresses
        self.codecs = codecs
        for name, address in addresses.as_dict().items():
            session.register(name, codecs[name], address)

    @classmethod
    def deploy(
        cls,
        session: EvmSession,
        deployer: str,
        members: Sequence[MemberSpec],
        validators: Sequence[str],
        min_servicer_share_bps: int = DEFAULT_MIN_SERVICER_SHARE_BPS,
    ) -> Suite:
        codecs = suite_codecs()
        plan = SuitePlan(tuple(members), tuple(validators), min_servicer_share_bps)
        deployed: dict[str, str] = {}
        for name in SUITE:
            args = plan.constructor_args(name, deployed)
            deployed[name] = session.deploy(deployer, load_artifact(name).bytecode, codecs[name], *args)
        suite = cls(session, SuiteAddresses(deployed["Consortium"], deployed["CoLending"], deployed["Clearing"]), codecs)
        outcome = suite.transact(deployer, *BIND_CALL, deployed["CoLending"])
        if not outcome.success:
            raise ContractReverted(f"binding CoLending failed: {outcome.error}", data=outcome.output, error=outcome.error)
        return suite

    def address(self, contract: str) -> str:
        return self.addresses.as_dict()[contract]

    def transact(self, sender: str, contract: str, function: str, *args: Any) -> TxOutcome:
        data = self.codecs[contract].encode_call(function, *args)
        return self.session.transact(sender, self.address(contract), data)

    def call(self, contract: str, function: str, *args: Any) -> Any:
        codec = self.codecs[contract]
        raw = self.session.call(self.address(contract), codec.encode_call(function, *args))
        return codec.decode_output(function, raw)
