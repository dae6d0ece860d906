"""How a transaction is priced from what the node reports: zero-gas, legacy or EIP-1559."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from web3.exceptions import MethodUnavailable

from contracts.tx_sender import ZERO_GAS_MIN_LIMIT, Fees, gas_limit, node_fees


@dataclass
class FakeEth:
    gas_price: int
    base_fee: int | None = None
    tip: int | None = None
    calls: list[str] = field(default_factory=list)

    def get_block(self, tag: str) -> dict[str, Any]:
        self.calls.append(f"get_block({tag})")
        return {} if self.base_fee is None else {"baseFeePerGas": self.base_fee}

    @property
    def max_priority_fee(self) -> int:
        if self.tip is None:
            raise MethodUnavailable("eth_maxPriorityFeePerGas")
        return self.tip


@dataclass
class FakeWeb3:
    eth: FakeEth


def test_a_zero_gas_chain_gets_price_zero_and_nothing_more_is_asked() -> None:
    eth = FakeEth(gas_price=0, base_fee=7)
    fees = node_fees(FakeWeb3(eth))  # type: ignore[arg-type]
    assert fees.fields == {"gasPrice": 0} and fees.zero_gas and eth.calls == []


def test_a_chain_without_base_fee_gets_its_legacy_gas_price() -> None:
    assert node_fees(FakeWeb3(FakeEth(gas_price=5_000))).fields == {"gasPrice": 5_000}  # type: ignore[arg-type]


@pytest.mark.parametrize(("tip", "expected_tip"), [(1_000, 1_000), (None, 1_500)])
def test_a_base_fee_chain_gets_eip1559_fees(tip: int | None, expected_tip: int) -> None:
    """The tip is the node's eth_maxPriorityFeePerGas, or (node without it) its gas price above the base fee."""
    fees = node_fees(FakeWeb3(FakeEth(gas_price=2_500, base_fee=1_000, tip=tip)))  # type: ignore[arg-type]
    assert fees.fields == {"maxFeePerGas": 2 * 1_000 + expected_tip, "maxPriorityFeePerGas": expected_tip}
    assert not fees.zero_gas


def test_gas_limits_pad_the_estimate_and_cost_nothing_extra_on_zero_gas_chains() -> None:
    assert gas_limit(100_000, Fees({"gasPrice": 3})) == 120_000
    assert gas_limit(100_000, Fees({"gasPrice": 0})) == ZERO_GAS_MIN_LIMIT
    assert gas_limit(20_000_000, Fees({"gasPrice": 0})) == 24_000_000
