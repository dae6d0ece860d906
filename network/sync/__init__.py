"""Block sync: a pure state machine that brings a node that is behind up to the final chain of its peers."""

from network.sync.machine import BlockSync, SyncAction, SyncConfig
from network.sync.messages import Blocks, GetBlocks, Status, decode_sync_message, encode_sync_message

__all__ = [
    "BlockSync",
    "Blocks",
    "GetBlocks",
    "Status",
    "SyncAction",
    "SyncConfig",
    "decode_sync_message",
    "encode_sync_message",
]
