"""The RPC backends of a node with peers: a validator gossips the txs it admits; an observer refuses writes."""

from __future__ import annotations

from node.errors import ReadOnlyNode
from node.p2p.tx_gossip import TxGossip
from node.rpc.backend.api import JsonDict
from node.rpc.backend.engine_backend import EngineBackend
from node.tx.model import Transaction


class GossipingBackend(EngineBackend):
    """A validator's backend: a client's tx goes to this node's pool and to every peer's."""

    def __init__(self, *args: object, gossip: TxGossip, extra_status: JsonDict, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.gossip = gossip
        self.extra_status = extra_status

    def send_raw_transaction(self, raw: bytes | Transaction) -> bytes:
        tx_hash = super().send_raw_transaction(raw)
        self.gossip.local(raw if isinstance(raw, bytes) else raw.raw, tx_hash)
        return tx_hash

    def status(self) -> JsonDict:
        return {**super().status(), **{k: v() if callable(v) else v for k, v in self.extra_status.items()}}


class ObserverBackend(EngineBackend):
    """A regulator's backend: every read of the full JSON-RPC, no write."""

    def __init__(self, *args: object, extra_status: JsonDict, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.extra_status = extra_status

    def send_raw_transaction(self, raw: bytes | Transaction) -> bytes:
        raise ReadOnlyNode("this is an observer node: it serves reads only; send transactions to a validator node")

    def status(self) -> JsonDict:
        return {**super().status(), **{k: v() if callable(v) else v for k, v in self.extra_status.items()}}
