"""The application layer's errors; codes follow the one scheme `package.reason` (lower snake case)."""

from __future__ import annotations

from node.errors import NodeError


class NodeStartFailed(NodeError):
    """The node exited, or did not log that it started, in time; the message carries the log's tail."""

    code = "colend.node_start_failed"
