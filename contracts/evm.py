"""A thin pyrevm session that runs the suite's bytecode: for tests, benches and building the genesis state.

The node has its own executor (nonces, receipts, persistence); this one only deploys, calls and transacts,
returning decoded outcomes, so contract behaviour can be tested on the very engine the node uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyrevm import EVM, BlockEnv

from contracts.abi import ContractCodec, DecodedError, DecodedEvent, SuiteCodec
from contracts.errors import ContractReverted

# Shanghai, to match the compiler's evmVersion (contracts.compiler.EVM_VERSION).
SPEC_ID = "SHANGHAI"
DEFAULT_TX_GAS = 30_000_000
_FAILURE = re.compile(
    r"(Revert|Halt)\s*\{\s*(?:reason:\s*(?P<reason>[^,]+),\s*)?gas_used:\s*(?P<gas>\d+)(?:,\s*output:\s*0x(?P<out>[0-9a-fA-F]*))?"
)


@dataclass(frozen=True)
class TxOutcome:
    """What a transaction did: success, gas, return data, decoded logs, and the decoded error on failure."""

    success: bool
    gas_used: int
    output: bytes
    logs: list[DecodedEvent] = field(default_factory=list)
    error: DecodedError | None = None
    raw_logs: list[tuple[str, list[bytes], bytes]] = field(default_factory=list)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e.args for e in self.logs if e.name == name]


def parse_failure(message: str) -> tuple[int, bytes, str]:
    """(gas used, revert data, kind) from pyrevm's failure text; pyrevm reports reverts as RuntimeError."""
    match = _FAILURE.search(message)
    if match is None:
        raise RuntimeError(message)
    return (
        int(match["gas"]),
        bytes.fromhex(match["out"] or ""),
        match.group(1) + (f":{match['reason']}" if match["reason"] else ""),
    )


class EvmSession:
    """A pyrevm EVM with a block environment and suite-aware decoding."""

    def __init__(self, evm: EVM | None = None, *, block_number: int = 1, timestamp: int = 1_767_225_600) -> None:
        self.evm = evm if evm is not None else EVM(spec_id=SPEC_ID)
        if evm is None:
            self.set_block(block_number, timestamp)
        self._codecs: dict[str, ContractCodec] = {}
        self._addresses: dict[str, str] = {}
        self.codec = SuiteCodec({})

    def set_block(self, number: int, timestamp: int) -> None:
        """Block number and time come from the block being built, never the wall clock."""
        self.evm.set_block_env(BlockEnv(number=number, timestamp=timestamp, gas_limit=DEFAULT_TX_GAS * 10))

    def register(self, name: str, codec: ContractCodec, address: str) -> None:
        """Lets the session decode this contract's logs and errors."""
        self._codecs[name] = codec
        self._addresses[name] = address
        self.codec = SuiteCodec(self._codecs, self._addresses)

    def deploy(self, deployer: str, bytecode: bytes, codec: ContractCodec, *args: Any) -> str:
        try:
            return str(self.evm.deploy(deployer, codec.encode_deploy(bytecode, *args), gas=DEFAULT_TX_GAS))
        except RuntimeError as err:
            _gas, data, _kind = parse_failure(str(err))
            decoded = self.codec.decode_error(data) or codec.decode_error(data)
            raise ContractReverted(f"deploying {codec.name} reverted: {decoded or data.hex()}", data=data, error=decoded) from err

    def transact(self, sender: str, to: str, data: bytes, *, gas: int = DEFAULT_TX_GAS) -> TxOutcome:
        """Executes and commits a call from `sender`; a revert rolls back and is returned, not raised."""
        try:
            output = bytes(self.evm.message_call(sender, to, data, gas=gas))
        except RuntimeError as err:
            gas_used, revert_data, _kind = parse_failure(str(err))
            return TxOutcome(False, gas_used, revert_data, error=self.codec.decode_error(revert_data))
        result = self.evm.result
        raw = [(str(log.address), [bytes(t) for t in log.data[0]], bytes(log.data[1])) for log in result.logs]
        decoded = []
        for address, topics, payload in raw:
            try:
                decoded.append(self.codec.decode_log(address, topics, payload))
            except Exception:  # foreign logs stay available in raw_logs
                continue
        return TxOutcome(True, int(result.gas_used), output, decoded, None, raw)

    def call(self, to: str, data: bytes, *, sender: str = "0x" + "00" * 20) -> bytes:
        """A static call; raises ContractReverted with the decoded error."""
        try:
            return bytes(self.evm.message_call(sender, to, data, gas=DEFAULT_TX_GAS, is_static=True))
        except RuntimeError as err:
            _gas, revert_data, _kind = parse_failure(str(err))
            decoded = self.codec.decode_error(revert_data)
            raise ContractReverted(f"call reverted: {decoded or revert_data.hex()}", data=revert_data, error=decoded) from err
