"""The endpoints of one JSON-RPC server: one standard Ethereum endpoint per ledger group, found by name.

A node holds one or more groups (independent chains); each is served at `/g/<group>` with its own backend,
chain id, dispatcher and filters, and `/` is the node's default group. Finding a request's endpoint is one dict
lookup; a name the table does not hold is UnknownGroup, never another group's endpoint. Endpoints come and go
while the server runs (a group started or stopped); the table is only changed on the server's event loop.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from node.defaults import DEFAULT_GROUP
from node.rpc.backend.api import NodeBackend
from node.rpc.dispatch import Dispatcher
from node.rpc.errors import GroupAlreadyServed, InvalidGroupName, UnknownGroup
from node.rpc.limits import RpcLimits

GROUP_PATH = "/g/{group}"
# A name travels in URL paths and logs unquoted: letters, digits and . _ + - ("WEBANK+XWBANK"), at most 64.
GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
SHOWN_NAME_CHARS = 64


def check_group_name(name: str) -> str:
    if not isinstance(name, str) or not GROUP_NAME.fullmatch(name):
        raise InvalidGroupName(f"invalid group name {str(name)[:SHOWN_NAME_CHARS]!r}: want 1-64 of A-Z a-z 0-9 . _ + -, "
                               "starting with a letter or digit")
    return name


def group_path(name: str) -> str:
    return GROUP_PATH.format(group=name)


@dataclass(frozen=True, eq=False)
class Endpoint:
    """One group's endpoint: its backend, the dispatcher (with its filters) over it, and its open WebSockets."""

    name: str
    backend: NodeBackend
    dispatcher: Dispatcher
    sockets: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)


class RpcEndpoints:
    """The server's endpoints by group name, and the group `/` serves (its default group)."""

    def __init__(self, limits: RpcLimits, default: str = DEFAULT_GROUP) -> None:
        self._limits = limits
        self.default = check_group_name(default)
        self._by_name: dict[str, Endpoint] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def add(self, name: str, backend: NodeBackend) -> Endpoint:
        """Serve `backend` at /g/<name> (and at / if `name` is the default group)."""
        if check_group_name(name) in self._by_name:
            raise GroupAlreadyServed(f"group {name!r} is already served")
        endpoint = Endpoint(name, backend, Dispatcher(backend, self._limits))
        self._by_name[name] = endpoint
        return endpoint

    def remove(self, name: str) -> Endpoint:
        """Stop serving a group: from now on its path answers UnknownGroup. The caller closes its sockets."""
        endpoint = self._by_name.pop(name, None)
        if endpoint is None:
            raise UnknownGroup.named(name)
        return endpoint

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint at /g/<name>; UnknownGroup if this node holds no such group."""
        endpoint = self._by_name.get(name)
        if endpoint is None:
            raise UnknownGroup.named(name)
        return endpoint

    def default_endpoint(self) -> Endpoint:
        """The endpoint at /: the default group's, UnknownGroup while it is not served."""
        endpoint = self._by_name.get(self.default)
        if endpoint is None:
            raise UnknownGroup.named(self.default)
        return endpoint

    def use_dispatcher(self, name: str, dispatcher: Dispatcher) -> None:
        """Serve a group through another dispatcher over the same backend (a test's stand-in)."""
        endpoint = self.endpoint(name)
        if endpoint.dispatcher is not dispatcher:
            self._by_name[name] = Endpoint(name, endpoint.backend, dispatcher, endpoint.sockets)
