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


class DeploymentError(ContractsError):
    """Deploying the suite to a chain, or using a deployment file, cannot go on safely."""

    code = "contracts.deployment_error"


class DeploymentFileInvalid(DeploymentError):
    """A deployment file that is missing, unreadable or not in the deployment format."""

    code = "contracts.deployment_file_invalid"


class MembersFileInvalid(DeploymentError):
    code = "contracts.members_file_invalid"


class KeyFileInvalid(DeploymentError):
    """A key file that is missing, not a 32-byte hex key, or readable by others than its owner."""

    code = "contracts.key_file_invalid"


class ChainIdMismatch(DeploymentError):
    """The node's chain id is not the one the deployment file was written for."""

    code = "contracts.chain_id_mismatch"


class BytecodeMismatch(DeploymentError):
    """The code at a deployment's address is not what the artifacts (with its constructor args) produce."""

    code = "contracts.bytecode_mismatch"


class ArtifactsChanged(DeploymentError):
    """The deployment was made from other artifacts than the ones built here (a contract changed since)."""

    code = "contracts.artifacts_changed"


class DeploymentDiffers(DeploymentError):
    """The existing deployment differs from what was asked (members, binding): a re-run will not change it."""

    code = "contracts.deployment_differs"


class NodeUnreachable(DeploymentError):
    code = "contracts.node_unreachable"


class TransactionFailed(DeploymentError):
    """A deployment transaction was mined but failed, or no receipt came in time."""

    code = "contracts.transaction_failed"


class EvmTooOld(DeploymentError):
    """The chain's EVM lacks an instruction of the fork the contracts are compiled for (e.g. PUSH0, Shanghai)."""

    code = "contracts.evm_too_old"
