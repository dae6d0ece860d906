"""Deploys the suite to any Ethereum JSON-RPC node: Consortium (with its members), Clearing, CoLending, then binds.

Each step is written to the deployment file at once: its tx hash when sent, its result when confirmed. So a
deploy stopped at any point (even kill -9 while a tx is in flight) resumes where it stopped, waiting for that
tx instead of sending another, and a finished one re-run is a no-op. A deployed contract counts only once its code checks out: the
keccak of eth_getCode must equal that of the code the artifact's creation bytecode yields with the same
constructor args and deployer, replayed in pyrevm (this covers immutables, which hold those args).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from pyrevm import EVM
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError

from contracts import compiler
from contracts.abi import ContractCodec, SuiteCodec
from contracts.artifacts import SUITE, load_artifact
from contracts.deployment import DeployedContract, Deployment, code_hash, initcode_hash, load_deployment
from contracts.enums import MEMBER_ROLE
from contracts.errors import (
    BytecodeMismatch,
    ChainIdMismatch,
    DeploymentDiffers,
    EvmTooOld,
    NodeUnreachable,
    TransactionFailed,
)
from contracts.evm import SPEC_ID, parse_failure
from contracts.ids import bank_id
from contracts.suite import BIND_CALL, SuitePlan, suite_codecs
from contracts.tx_sender import TxSender, node_fees

ZERO_ADDRESS = "0x" + "00" * 20
REPLAY_GAS = 30_000_000
# Creation code that returns nothing, once with PUSH0 (Shanghai, EIP-3855) and once with PUSH1 0: a chain that
# runs the second but not the first predates the EVM the suite is compiled for.
PUSH0_PROBE = bytes.fromhex("5f5ff3")
PUSH1_PROBE = bytes.fromhex("60006000f3")

Say = Callable[[str], None]


@dataclass(frozen=True)
class DeployResult:
    """The deployment as it now stands, and what this run changed (nothing: it was already there)."""

    deployment: Deployment
    actions: list[str] = field(default_factory=list)

    @property
    def no_op(self) -> bool:
        return not self.actions


def expected_code_hash(contract: str, constructor_args: bytes, deployer: str) -> str:
    """The code hash the artifact yields with these args from this deployer: its creation code run in pyrevm."""
    evm = EVM(spec_id=SPEC_ID)
    try:
        address = evm.deploy(deployer, load_artifact(contract).bytecode + constructor_args, gas=REPLAY_GAS)
    except RuntimeError as err:
        _gas, _data, kind = parse_failure(str(err))
        raise BytecodeMismatch(f"{contract}'s constructor fails with the recorded arguments ({kind})") from err
    return "0x" + bytes(evm.basic(address).code_hash).hex()


def deploy(w3: Web3, account: LocalAccount, plan: SuitePlan, out: Path, *, say: Say = lambda _: None,
           timeout_s: float = 120) -> DeployResult:  # fmt: skip
    """Deploys what `out` does not yet record, checks what it does, and returns the finished deployment."""
    chain_id = _reachable(w3)
    deployment = _start(out, chain_id, account)
    sender = TxSender(w3)
    actions: list[str] = []
    if not deployment.complete:
        check_evm(w3, account.address)
    for name in SUITE:
        if name in deployment.contracts:
            verify_contract(w3, deployment, name)
        else:
            steps = _Steps(w3, sender, account, out, deployment, timeout_s)
            placed = _deploy_one(steps, plan, name)
            deployment = steps.deployment.with_contract(name, placed)
            deployment.save(out)
            actions.append(f"{name} deployed at {placed.address} in block {placed.block}")
            say(f"{actions[-1]}, code verified")
        if name == "Consortium":  # before building on it: a re-run with other members stops here
            check_members(w3, deployment, plan)
    if not deployment.bound:
        steps = _Steps(w3, sender, account, out, deployment, timeout_s)
        bound_in = _bind(steps)
        deployment = replace(steps.deployment.with_pending(BIND_STEP, None), bound=True)
        deployment.save(out)
        if bound_in is not None:
            actions.append(f"CoLending bound to Clearing in block {bound_in}")
            say(actions[-1])
    else:
        _check_bound(w3, deployment)
    return DeployResult(deployment, actions)


def verify_contract(w3: Web3, deployment: Deployment, name: str) -> None:
    """An already deployed contract: built from these artifacts, with the code the replay gives, on chain now."""
    contract = deployment.contracts[name]
    deployment.check_contract(w3, name)
    replayed = expected_code_hash(name, contract.constructor_args, deployment.deployer)
    if replayed != contract.code_hash:
        raise BytecodeMismatch(f"{name} at {contract.address}: the recorded code hash is not what its artifact yields")


def check_evm(w3: Web3, sender: str) -> None:
    """Refuses, before any tx, a chain whose EVM cannot run the suite's code (compiled for EVM_VERSION)."""

    def runs(code: bytes) -> bool:
        try:
            w3.eth.call({"from": sender, "data": code})  # type: ignore[typeddict-item]
        except (ContractLogicError, Web3RPCError, ValueError):
            return False
        return True

    if not runs(PUSH0_PROBE) and runs(PUSH1_PROBE):
        raise EvmTooOld(
            f"the chain's EVM does not run PUSH0 (EIP-3855, Shanghai), and the suite is compiled for {compiler.EVM_VERSION}:"
            " activate Shanghai or later on the chain (Besu: shanghaiTime in the genesis config)")


def fee_summary(w3: Web3) -> str:
    priced = node_fees(w3)
    fees = priced.fields
    if priced.zero_gas:
        return "zero-gas chain (gas price 0)"
    if "gasPrice" in fees:
        return f"legacy gas price {fees['gasPrice']:,} wei"
    return f"EIP-1559 fees (max {fees['maxFeePerGas']:,} wei, tip {fees['maxPriorityFeePerGas']:,} wei per gas)"


def _reachable(w3: Web3) -> int:
    try:
        return int(w3.eth.chain_id)
    except OSError as err:  # requests' connection errors are OSErrors
        raise NodeUnreachable(f"cannot reach the node at {getattr(w3.provider, 'endpoint_uri', '?')}: {err}") from err


def _start(out: Path, chain_id: int, account: LocalAccount) -> Deployment:
    if not out.exists():
        return Deployment(chain_id, account.address, compiler.solc_version())
    existing = load_deployment(out)
    if existing.chain_id != chain_id:
        raise ChainIdMismatch(f"{out} is for chain {existing.chain_id}, but the node is chain {chain_id}: use another --out")
    if existing.deployer != account.address:
        raise DeploymentDiffers(f"{out} was deployed by {existing.deployer}; this key is {account.address}")
    return existing


class _Steps:
    """Sends a step's tx (or finds the one a stopped run sent) and records it as pending before waiting."""

    def __init__(self, w3: Web3, sender: TxSender, account: LocalAccount, out: Path, deployment: Deployment,
                 timeout_s: float) -> None:  # fmt: skip
        self.w3, self.sender, self.account, self.out = w3, sender, account, out
        self.deployment = deployment
        self.timeout_s = timeout_s

    def mined(self, step: str, to: str | None, data: bytes, what: str) -> Any:
        """The successful receipt of `step`: of its pending tx if the node knows it, else of a new one."""
        recorded = self.deployment.pending.get(step)
        if recorded is not None and self._known(recorded):
            tx_hash = HexBytes(recorded)
        else:
            tx_hash = _submit(self.sender, self.account, to, data, what)
            self.deployment = self.deployment.with_pending(step, tx_hash.to_0x_hex())
            self.deployment.save(self.out)
        receipt = self.sender.wait(tx_hash, self.timeout_s)
        if receipt["status"] != 1:
            self.deployment = self.deployment.with_pending(step, None)
            self.deployment.save(self.out)
            raise TransactionFailed(f"{what} failed in block {receipt['blockNumber']} (tx {tx_hash.to_0x_hex()})")
        return receipt

    def _known(self, tx_hash: str) -> bool:
        """False for a tx the node never saw or dropped: that step is sent again."""
        try:
            self.w3.eth.get_transaction(HexBytes(tx_hash))
        except TransactionNotFound:
            return False
        return True


BIND_STEP = "bind"


def _deploy_one(steps: _Steps, plan: SuitePlan, name: str) -> DeployedContract:
    w3 = steps.w3
    artifact = load_artifact(name)
    codec = ContractCodec(artifact.abi, name)
    planned = artifact.bytecode + codec.encode_deploy(b"", *plan.constructor_args(name, steps.deployment.addresses()))
    receipt = steps.mined(name, None, planned, f"deploying {name}")
    sent = bytes(w3.eth.get_transaction(receipt["transactionHash"])["input"])  # a resumed step's tx may predate this run
    if not sent.startswith(artifact.bytecode):
        raise BytecodeMismatch(f"the {name} tx {receipt['transactionHash'].to_0x_hex()} deploys other code than the artifact")
    args = sent[len(artifact.bytecode) :]
    address = to_checksum_address(receipt["contractAddress"])
    on_chain = code_hash(bytes(w3.eth.get_code(address)))
    expected = expected_code_hash(name, args, steps.account.address)
    if on_chain != expected:
        raise BytecodeMismatch(f"{name} deployed at {address} holds other code than its artifact yields ({on_chain[:18]}…"
                               f" vs {expected[:18]}…): is the chain's EVM at least {compiler.EVM_VERSION}?")
    return DeployedContract(address, int(receipt["blockNumber"]), receipt["transactionHash"].to_0x_hex(), args,
                            initcode_hash(name), on_chain)  # fmt: skip


def _bind(steps: _Steps) -> int | None:
    """Binds CoLending in Clearing; None when an earlier, interrupted run already did."""
    contract, fn = BIND_CALL
    deployment = steps.deployment
    current = _call(steps.w3, deployment, contract, "coLending")
    colending = deployment.contracts["CoLending"].address
    if current.lower() == colending.lower():
        return None
    if current != ZERO_ADDRESS:
        raise DeploymentDiffers(f"Clearing at {deployment.contracts[contract].address} is bound to {current}, not {colending}")
    data = ContractCodec(load_artifact(contract).abi, contract).encode_call(fn, colending)
    receipt = steps.mined(BIND_STEP, deployment.contracts[contract].address, data, "binding CoLending")
    return int(receipt["blockNumber"])


def _check_bound(w3: Web3, deployment: Deployment) -> None:
    current = _call(w3, deployment, "Clearing", "coLending")
    if current.lower() != deployment.contracts["CoLending"].address.lower():
        raise DeploymentDiffers(f"Clearing is bound to {current}, not to the deployment's CoLending")


def check_members(w3: Web3, deployment: Deployment, plan: SuitePlan) -> None:
    """Every member of the plan is on chain as planned; changing members later is Consortium governance's job."""
    for m in plan.members:
        name, role, active = _call(w3, deployment, "Consortium", "member", bank_id(m.bank_id))
        if role == 0:
            raise DeploymentDiffers(f"{m.bank_id} is not a member of the deployed Consortium: add it through governance")
        if (name, MEMBER_ROLE.get(role), active) != (m.name, m.role, True):
            raise DeploymentDiffers(f"{m.bank_id} is on chain as {name!r} {MEMBER_ROLE.get(role, role)} active={active},"
                                    f" the members file says {m.name!r} {m.role}")  # fmt: skip
        for account in m.accounts:
            owner = _call(w3, deployment, "Consortium", "bankOf", account)
            if owner != bank_id(m.bank_id):
                raise DeploymentDiffers(f"account {account} does not belong to {m.bank_id} in the deployed Consortium")


def _call(w3: Web3, deployment: Deployment, contract: str, fn: str, *args: Any) -> Any:
    codec = ContractCodec(load_artifact(contract).abi, contract)
    to = deployment.contracts[contract].address
    return codec.decode_output(fn, bytes(w3.eth.call({"to": to, "data": codec.encode_call(fn, *args)})))


def _submit(sender: TxSender, account: LocalAccount, to: str | None, data: bytes, what: str) -> HexBytes:
    try:
        return sender.submit(account, to, data)
    except (ContractCustomError, ContractLogicError) as err:
        decoded = SuiteCodec(suite_codecs()).decode_error(_bytes(err.data))
        raise TransactionFailed(f"{what} reverted: {decoded or err}") from err
    except Web3RPCError as err:
        raise TransactionFailed(f"{what}: the node refused the transaction: {err}") from err


def _bytes(data: Any) -> bytes:
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    return data if isinstance(data, bytes) else b""
