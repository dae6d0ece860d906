"""QBFT consensus as a sans-I/O state machine: the node drives `QbftCore` with bytes and timer ticks."""

from network.qbft.actions import (
    Action,
    Broadcast,
    BuildBlock,
    Commit,
    Persist,
    PreparedCertificate,
    ResumeState,
    SetTimer,
    ValidateProposal,
)
from network.qbft.block import BlockCodec, ConsensusBlock, RlpBlockCodec
from network.qbft.config import QbftConfig
from network.qbft.core import QbftCore
from network.qbft.crypto import PrivateKeySigner, Signer
from network.qbft.quorum import max_faulty, proposer_for, quorum_size
from network.qbft.resume import decode_resume_state, encode_resume_state
from network.qbft.seals import SEAL_DOMAIN, commit_seal_problem, make_commit_seal, seal_signer, verify_commit_seals

__all__ = [
    "SEAL_DOMAIN",
    "Action",
    "BlockCodec",
    "Broadcast",
    "BuildBlock",
    "Commit",
    "ConsensusBlock",
    "Persist",
    "PreparedCertificate",
    "PrivateKeySigner",
    "QbftConfig",
    "QbftCore",
    "ResumeState",
    "RlpBlockCodec",
    "SetTimer",
    "Signer",
    "ValidateProposal",
    "commit_seal_problem",
    "decode_resume_state",
    "encode_resume_state",
    "make_commit_seal",
    "max_faulty",
    "proposer_for",
    "quorum_size",
    "seal_signer",
    "verify_commit_seals",
]
