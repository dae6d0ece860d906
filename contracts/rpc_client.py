"""Signs and sends suite calls to a node over standard JSON-RPC (web3.py), decoding reverts by error name.

Used by the demo, the e2e tests and benches: the same path any bank's own systems would take. Gas is
estimated and priced by the node (contracts.tx_sender); addresses come from a deployment file or the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from contracts.abi import ContractCodec, DecodedEvent, SuiteCodec
from contracts.artifacts import SUITE, load_artifact
from contracts.deployment import Deployment
from contracts.errors import ContractReverted
from contracts.tx_sender import ZERO_GAS_MIN_LIMIT, TxSender


@dataclass(frozen=True)
class Sent:
    """A mined transaction: its hash, block, gas and the suite events it emitted."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: list[DecodedEvent]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.args for e in self.events if e.name == name]


class SuiteClient:
    """The suite on a node, called by contract and function name with a bank's key."""

    def __init__(self, w3: Web3, addresses: Mapping[str, str]) -> None:
        self.w3 = w3
        self.addresses = {name: Web3.to_checksum_address(addresses[name]) for name in SUITE}
        self.codecs = {name: ContractCodec(load_artifact(name).abi, name) for name in SUITE}
        self.codec = SuiteCodec(self.codecs, self.addresses)
        self.sender = TxSender(w3)
        self.chain_id = self.sender.chain_id

    @classmethod
    def from_deployment(cls, w3: Web3, deployment: Deployment) -> SuiteClient:
        """The suite a deployment file names, after checking the node is its chain and holds its code."""
        deployment.check_node(w3)
        return cls(w3, deployment.addresses())

    def call(self, contract: str, fn: str, *args: Any) -> Any:
        data = self.codecs[contract].encode_call(fn, *args)
        raw = self._eth(lambda: self.w3.eth.call({"to": self.addresses[contract], "data": data}))
        return self.codecs[contract].decode_output(fn, bytes(raw))

    def sign(self, account: LocalAccount, contract: str, fn: str, *args: Any, gas: int = ZERO_GAS_MIN_LIMIT) -> bytes:
        """A signed raw tx with the next local nonce and the node's fees (for senders that pipeline many txs)."""
        return self.sender.sign(account, self.addresses[contract], self.codecs[contract].encode_call(fn, *args), gas)

    def send(self, account: LocalAccount, contract: str, fn: str, *args: Any, timeout_s: float = 30) -> Sent:
        """Estimates first (so a revert comes back by name), then sends with that gas and waits for the receipt."""
        to, data = self.addresses[contract], self.codecs[contract].encode_call(fn, *args)
        estimate = self._eth(lambda: self.sender.estimate(account, to, data))
        receipt = self._eth(lambda: self.sender.send(account, to, data, estimate=estimate, timeout_s=timeout_s))
        tx_hash = receipt["transactionHash"]
        if receipt["status"] != 1:
            raise ContractReverted(f"{contract}.{fn} reverted in block {receipt['blockNumber']}", data=b"")
        events = [
            self.codec.decode_log(str(log["address"]), [bytes(t) for t in log["topics"]], bytes(log["data"]))
            for log in receipt["logs"]
        ]
        return Sent(tx_hash.to_0x_hex(), int(receipt["blockNumber"]), int(receipt["gasUsed"]), events)

    def _eth(self, request: Any) -> Any:
        try:
            return request()
        except (ContractCustomError, ContractLogicError) as err:
            data = _revert_bytes(err.data)
            decoded = self.codec.decode_error(data)
            raise ContractReverted(f"reverted: {decoded or data.hex()}", data=data, error=decoded) from err
        except Web3RPCError as err:
            raise ContractReverted(f"node refused: {err}", data=b"") from err


def _revert_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and "data" in data:
        return _revert_bytes(data["data"])
    return b""
