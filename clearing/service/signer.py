"""Settlement actions on chain, signed with the bank's account key held by the service.

SuiteClient (web3, synchronous) sends and waits for the receipt; it runs in one worker thread, so the
event loop never waits for a block and nonces go out in order.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from web3 import Web3

from clearing.errors import ChainRejected, ConfigError, NodeUnreachable
from contracts.errors import ContractsError, KeyFileInvalid
from contracts.ids import text_id
from contracts.key_file import load_account
from contracts.rpc_client import Sent, SuiteClient


def load_account_key(path: Path) -> Any:
    """The bank's account, read by the one key-file reader (contracts/key_file.py: 0600, 32-byte hex)."""
    try:
        return load_account(path)
    except KeyFileInvalid as exc:
        raise ConfigError(f"cannot read the bank's account key {path}: {exc.message}") from exc


class SettlementSigner:
    def __init__(self, url: str, addresses: dict[str, str], key_file: Path) -> None:
        self.url = url
        self.addresses = addresses
        self.account = load_account_key(key_file)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signer")
        self._client: SuiteClient | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _send(self, fn: str, *args: Any) -> Sent:
        if self._client is None:
            self._client = SuiteClient(Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30})), self.addresses)
        try:
            return self._client.send(self.account, "Clearing", fn, *args)
        except ContractsError as exc:
            self._client = None  # a refused tx may leave the local nonce ahead: start afresh
            raise ChainRejected(f"{fn} refused: {exc.message}", data=str(getattr(exc, "error", None) or "")) from exc
        except Exception as exc:  # transport errors from web3/requests: the node is unreachable
            self._client = None
            raise NodeUnreachable(f"{fn} failed: {exc}") from exc

    async def _run(self, fn: str, *args: Any) -> Sent:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._send, fn, *args)

    async def confirm_cycle(self, cycle_id: int) -> Sent:
        return await self._run("confirmCycle", cycle_id)

    async def record_payment(self, cycle_id: int, index: int, payment_ref: str) -> Sent:
        return await self._run("recordPayment", cycle_id, index, text_id(payment_ref))

    async def acknowledge_payment(self, cycle_id: int, index: int) -> Sent:
        return await self._run("acknowledgePayment", cycle_id, index)
