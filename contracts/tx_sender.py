"""Prices, signs, sends and awaits transactions over standard JSON-RPC: the one path for the deploy and SuiteClient.

Gas is estimated by the node (eth_estimateGas) and priced from it: a node whose eth_gasPrice is 0 is a zero-gas
chain (Colend's node, Besu/Quorum with free gas) and gets legacy txs at price 0; a node with a base fee gets
EIP-1559 fees (eth_maxPriorityFeePerGas, else the gas price above the base fee); any other a legacy gas price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import MethodUnavailable, TimeExhausted, Web3RPCError

from contracts.errors import TransactionFailed

# On a zero-gas chain the limit costs nothing, so it is never below this (an estimate can miss refunds).
ZERO_GAS_MIN_LIMIT = 10_000_000
GAS_HEADROOM_PCT = 20  # on priced chains: estimate + 20%, for state that moves between estimate and inclusion
BASE_FEE_BLOCKS_OF_HEADROOM = 2  # maxFeePerGas covers the base fee doubling (it rises <= 12.5% a block)


@dataclass(frozen=True)
class Fees:
    """The fee fields of one transaction, as the node priced it."""

    fields: dict[str, int]

    @property
    def zero_gas(self) -> bool:
        return self.fields == {"gasPrice": 0}


def node_fees(w3: Web3) -> Fees:
    """Fee fields from the node: zero, EIP-1559 (when blocks carry a base fee) or a legacy gas price."""
    gas_price = int(w3.eth.gas_price)
    if gas_price == 0:
        return Fees({"gasPrice": 0})
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas")
    if base_fee is None:
        return Fees({"gasPrice": gas_price})
    try:
        tip = int(w3.eth.max_priority_fee)
    except (MethodUnavailable, Web3RPCError, ValueError):  # not every node serves eth_maxPriorityFeePerGas
        tip = max(gas_price - int(base_fee), 0)
    return Fees({"maxFeePerGas": BASE_FEE_BLOCKS_OF_HEADROOM * int(base_fee) + tip, "maxPriorityFeePerGas": tip})


def gas_limit(estimate: int, fees: Fees) -> int:
    padded = estimate + estimate * GAS_HEADROOM_PCT // 100
    return max(padded, ZERO_GAS_MIN_LIMIT) if fees.zero_gas else padded


class TxSender:
    """Keeps each sender's next nonce locally (so txs can be pipelined) and re-reads it after a failed send."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.chain_id = int(w3.eth.chain_id)
        self._nonces: dict[str, int] = {}

    def estimate(self, account: LocalAccount, to: str | None, data: bytes) -> int:
        tx: dict[str, Any] = {"from": account.address, "data": data}
        if to is not None:
            tx["to"] = to
        return int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]

    def sign(self, account: LocalAccount, to: str | None, data: bytes, gas: int, fees: Fees | None = None) -> bytes:
        """A signed raw tx with the sender's next local nonce."""
        nonce = self._next_nonce(account.address)
        tx: dict[str, Any] = {"data": data, "gas": gas, "nonce": nonce, "chainId": self.chain_id, "value": 0}
        tx.update((fees or node_fees(self.w3)).fields)
        if to is not None:
            tx["to"] = to
        return bytes(account.sign_transaction(tx).raw_transaction)

    def send(self, account: LocalAccount, to: str | None, data: bytes, *, estimate: int | None = None,
             timeout_s: float = 30) -> Any:  # fmt: skip
        """Sends (estimating gas unless given the estimate) and returns the receipt, whatever its status."""
        return self.wait(self.submit(account, to, data, estimate=estimate), timeout_s)

    def submit(self, account: LocalAccount, to: str | None, data: bytes, *, estimate: int | None = None) -> HexBytes:
        """Prices, signs and sends; returns the tx hash without waiting for it to be mined."""
        fees = node_fees(self.w3)
        gas = gas_limit(self.estimate(account, to, data) if estimate is None else estimate, fees)
        raw = self.sign(account, to, data, gas, fees)
        try:
            return self.w3.eth.send_raw_transaction(raw)
        except Exception:
            self._nonces.pop(account.address, None)  # the nonce was not used: read it again next time
            raise

    def wait(self, tx_hash: HexBytes, timeout_s: float = 30) -> Any:
        try:
            return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s, poll_latency=0.02)
        except TimeExhausted as err:
            raise TransactionFailed(f"no receipt for {tx_hash.to_0x_hex()} within {timeout_s:g} s") from err

    def _next_nonce(self, address: str) -> int:
        if address not in self._nonces:
            self._nonces[address] = int(self.w3.eth.get_transaction_count(address, "pending"))
        nonce = self._nonces[address]
        self._nonces[address] = nonce + 1
        return nonce
