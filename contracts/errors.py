"""The contracts package's errors: each has a stable machine code callers can branch on."""

from __future__ import annotations


class ContractsError(Exception):
    """Base of every error raised by the contracts toolchain and codecs."""

    code: str = "contracts.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ToolchainMissing(ContractsError):
    """Node.js or the pinned solc-js is not installed."""

    code = "contracts.toolchain_missing"


class CompileFailed(ContractsError):
    code = "contracts.compile_failed"


class ArtifactNotFound(ContractsError):
    code = "contracts.artifact_not_found"


class UnknownFunction(ContractsError):
    code = "contracts.unknown_function"


class BadArguments(ContractsError):
    """Arguments that do not fit a function's ABI types."""

    code = "contracts.bad_arguments"


class UnknownEvent(ContractsError):
    code = "contracts.unknown_event"


class UndecodableData(ContractsError):
    """Bytes that do not decode as the ABI says (return data, log data, revert data)."""

    code = "contracts.undecodable_data"


class ContractReverted(ContractsError):
    """A call reverted; `error` is the decoded custom error when the ABI knows it."""

    code = "contracts.contract_reverted"

    def __init__(self, message: str, *, data: bytes, error: object | None = None) -> None:
        super().__init__(message)
        self.data = data
        self.error = error
