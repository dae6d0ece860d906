"""anvil as the foreign Ethereum node of the e2e tests, started by the one launcher (bench/support/anvil.py,
pinned in tools/anvil/). Accounts come from a fixed mnemonic, so every run has the same funded keys; by default
anvil prices gas (EIP-1559 base fee and tip), `zero_gas=True` makes it a free-gas chain like a permissioned
Besu or Quorum."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from bench.support.anvil import Anvil

MNEMONIC = "test test test test test test test test test test test junk"
ACCOUNTS = 6

Account.enable_unaudited_hdwallet_features()


def anvil_account(index: int) -> LocalAccount:
    """The funded account `index` of anvil's mnemonic (0 is the deployer in these tests)."""
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def foreign_anvil(log_path: Path, *, chain_id: int, zero_gas: bool = False, hardfork: str | None = None) -> Anvil:
    """Not started yet: call start(), and stop() when done."""
    return Anvil(log_path, chain_id=chain_id, mnemonic=MNEMONIC, accounts=ACCOUNTS, zero_gas=zero_gas, hardfork=hardfork)
