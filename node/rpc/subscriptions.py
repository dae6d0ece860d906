"""eth_subscribe / eth_unsubscribe for one WebSocket connection: newHeads and logs, pushed by the backend.

Transport-free: notifications go to the `notify` callable the connection supplies, which may be called from
any thread the backend commits blocks on; the connection decides how to get them onto its socket.
"""

from __future__ import annotations

from collections.abc import Callable

from node.errors import InvalidParams
from node.rpc.backend.api import JsonDict, NodeBackend
from node.rpc.errors import LimitExceeded
from node.rpc.limits import RpcLimits
from node.rpc.log_query import parse_log_filter
from node.rpc.params import random_id

SUBSCRIPTION_KINDS = ("newHeads", "logs")

Notify = Callable[[JsonDict], None]


class SubscriptionSession:
    """The subscriptions of one connection; closing it unsubscribes everything from the backend."""

    def __init__(
        self,
        backend: NodeBackend,
        limits: RpcLimits,
        notify: Notify,
        new_id: Callable[[], str] = random_id,
    ) -> None:
        self._backend = backend
        self._limits = limits
        self._notify = notify
        self._new_id = new_id
        self._cancels: dict[str, Callable[[], None]] = {}
        self._closed = False

    def __len__(self) -> int:
        return len(self._cancels)

    def subscribe(self, kind: object, options: object = None) -> str:
        if self._closed:
            raise LimitExceeded("connection is closing")
        if len(self._cancels) >= self._limits.max_subscriptions_per_connection:
            raise LimitExceeded(
                f"too many subscriptions on this connection ({self._limits.max_subscriptions_per_connection})",
                data={"limit": self._limits.max_subscriptions_per_connection},
            )
        sub_id = self._new_id().lower()
        if kind == "newHeads":
            if options is not None:
                raise InvalidParams("invalid argument 1: newHeads takes no options")
            cancel = self._backend.subscribe_new_heads(self._sender(sub_id))
        elif kind == "logs":
            spec = parse_log_filter({} if options is None else options, "argument 1 (filter)")
            if spec.from_block is not None or spec.to_block is not None or spec.block_hash is not None:
                raise InvalidParams("invalid argument 1 (filter): a logs subscription takes only address and topics")
            cancel = self._backend.subscribe_logs(spec.match_criteria(), self._sender(sub_id))
        else:
            raise InvalidParams(
                f"invalid argument 0: unsupported subscription type {str(kind)[:40]!r}, "
                f"want one of {', '.join(SUBSCRIPTION_KINDS)}"
            )
        self._cancels[sub_id] = cancel
        return sub_id

    def unsubscribe(self, sub_id: str) -> bool:
        cancel = self._cancels.pop(sub_id.lower(), None)
        if cancel is None:
            return False
        cancel()
        return True

    def close(self) -> None:
        self._closed = True
        for sub_id in list(self._cancels):
            self.unsubscribe(sub_id)

    def _sender(self, sub_id: str) -> Callable[[JsonDict], None]:
        def send(result: JsonDict) -> None:
            # A backend may still deliver while it processes the cancel; drop rather than notify a closed session.
            if sub_id in self._cancels:
                self._notify(
                    {
                        "jsonrpc": "2.0",
                        "method": "eth_subscription",
                        "params": {"subscription": sub_id, "result": result},
                    }
                )

        return send
