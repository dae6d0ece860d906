"""The network package's errors outside the QBFT core: each carries a stable code, `network.<reason>`."""

from __future__ import annotations


class NetworkError(Exception):
    """Base of the errors raised by network/ (the driver, block sync and the wire format)."""

    code: str = "network.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedWireMessage(NetworkError):
    """Bytes from a peer that are not a message of ours; the receiver drops them (and may penalise the peer)."""

    code = "network.malformed_message"


class MessageTooLarge(MalformedWireMessage):
    code = "network.message_too_large"


class UnknownChannel(MalformedWireMessage):
    code = "network.unknown_channel"


class UnsupportedVersion(MalformedWireMessage):
    code = "network.unsupported_version"


class TooManyItems(MalformedWireMessage):
    """A list longer than the protocol allows (blocks in a response, seals on a block)."""

    code = "network.too_many_items"


class BlockRejected(NetworkError):
    """The chain refused a block offered by sync (it does not extend the head, or does not execute)."""

    code = "network.block_rejected"


class ChainHalted(NetworkError):
    """The chain computed another state than a quorum sealed: the node stops rather than fork silently."""

    code = "network.chain_halted"


class ConsensusFailed(NetworkError):
    """Consensus could not go on even after restarting from its durable state; the node stops."""

    code = "network.consensus_failed"
