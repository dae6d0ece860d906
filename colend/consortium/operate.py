"""`colend consortium up` and `status`: every node of a folder as its own process, and a look at them all."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colend.consortium.layout import Manifest, NodeEntry, read_manifest
from colend.launcher import NodeLauncher
from node.config import DEFAULT_GROUP
from node.rpc.errors import UnknownGroup

POLL_S = 0.5
UNKNOWN_GROUP = UnknownGroup.code  # a node's answer for a group it does not serve


def start_all(root: Path, manifest: Manifest, *, only: list[str] | None = None, echo: bool = True) -> dict[str, NodeLauncher]:
    """Start the nodes (a log per node in DIR/logs/<node>.log); stops the ones started if one fails."""
    (root / "logs").mkdir(exist_ok=True)
    entries = [e for e in manifest.nodes if not only or e.name in only]
    launchers = {e.name: NodeLauncher(e.config(root), root / "logs" / f"{e.name}.log") for e in entries}
    # All at once: validators that come up seconds apart would time out rounds waiting for each other.
    with ThreadPoolExecutor(len(launchers) or 1) as pool:
        results = list(pool.map(_start, launchers.values()))
    failed = [r for r in results if r is not None]
    if failed:
        stop_all({n: launcher for n, launcher in launchers.items() if launcher.running()})
        raise failed[0]
    for entry in entries if echo else ():
        launcher = launchers[entry.name]
        print(f"started {entry.name:<14} {entry.role:<9} rpc {launcher.url}  p2p {entry.p2p_port}  "
              f"log {launcher.log_path}", flush=True)
    return launchers


def _start(launcher: NodeLauncher) -> Exception | None:
    try:
        launcher.start()
    except Exception as exc:
        return exc
    return None


def stop_all(launchers: dict[str, NodeLauncher]) -> dict[str, int]:
    """SIGTERM to every running node at once, then wait for each (killed if it does not exit in time)."""
    for launcher in launchers.values():
        if launcher.running() and launcher.proc is not None:
            launcher.proc.send_signal(signal.SIGTERM)
    return {name: launcher.wait() if launcher.proc is not None else 0 for name, launcher in launchers.items()}


def run_up(root: Path) -> int:
    """Until Ctrl-C (0) or until a node dies on its own (1, the others are stopped too)."""
    manifest = read_manifest(root)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    launchers = start_all(root, manifest)
    print(f"consortium up: {len(launchers)} nodes; Ctrl-C stops them all", flush=True)
    died: str | None = None
    while not stop.wait(POLL_S):
        died = next((name for name, launcher in launchers.items() if not launcher.running()), None)
        if died is not None:
            break
    codes = stop_all(launchers)
    if died is not None:
        print(f"node {died} exited with code {codes[died]} (log {launchers[died].log_path}); stopped the others",
              flush=True)
        return 1
    print("consortium stopped: " + ", ".join(f"{n} exit {c}" for n, c in codes.items()), flush=True)
    return 0


@dataclass(frozen=True)
class NodeStatus:
    entry: NodeEntry
    reply: dict[str, Any] | None
    error: str = ""
    group: str = DEFAULT_GROUP
    stopped: bool = False  # stopped on this node (consortium.json): not asked

    @property
    def height(self) -> int | None:
        return int(self.reply["head"]["number"], 16) if self.reply else None


def rpc_status(entry: NodeEntry, group: str = DEFAULT_GROUP, timeout_s: float = 3.0) -> NodeStatus:
    """colend_status of one group on a node, at the group's own path (the port's root serves the node's first
    group, which the default group need not be once groups come and go)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "colend_status", "params": []}).encode()
    request = urllib.request.Request(entry.rpc_url(group), body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # a group the node does not serve (yet) is a 404 with a JSON-RPC error
        reply = _error_body(exc)
        if reply is None:
            return NodeStatus(entry, None, f"HTTP {exc.code}", group)
    except OSError as exc:
        return NodeStatus(entry, None, f"unreachable ({exc.__class__.__name__})", group)
    if "error" in reply:
        error = reply["error"]
        data = error.get("data")
        if isinstance(data, dict) and data.get("code") == UNKNOWN_GROUP:
            return NodeStatus(entry, None, f"not running ({UNKNOWN_GROUP}): not started yet, or failed to", group)
        return NodeStatus(entry, None, str(error.get("message")), group)
    return NodeStatus(entry, reply["result"], group=group)


def _error_body(exc: urllib.error.HTTPError) -> dict[str, Any] | None:
    try:
        body = json.loads(exc.read())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("error"), dict) else None


def collect_status(root: Path) -> list[NodeStatus]:
    """Every node's status in every group it runs; a group stopped on a node is a row too, not asked."""
    return [status for entry in read_manifest(root).nodes for status in (
        *(rpc_status(entry, group) for group in entry.groups),
        *(NodeStatus(entry, None, "stopped", group, stopped=True) for group in entry.stopped))]


def status_rows(statuses: list[NodeStatus]) -> list[dict[str, Any]]:
    """A row per node and group, its lag behind the group's highest node; the group named only when there are
    groups besides the default one."""
    tops: dict[str, int] = {}
    for s in statuses:
        tops[s.group] = max(tops.get(s.group, 0), s.height or 0)
    named = any(s.group != DEFAULT_GROUP for s in statuses)
    rows = []
    for s in statuses:
        row: dict[str, Any] = {"node": s.entry.name, **({"group": s.group} if named else {}),
                               "member": s.entry.member, "role": s.entry.role, "stopped": s.stopped}
        if s.reply is None:
            row.update(height=None, round=None, peers=None, lag=None, state=None, error=s.error)
        else:
            row.update(height=s.height, round=s.reply.get("round", 0), peers=s.reply.get("peers"),
                       lag=tops[s.group] - (s.height or 0), state=s.reply["stateCommitment"],
                       error=s.reply.get("halted") or "")
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    columns = tuple(c for c in ("node", "group", "member", "role", "height", "round", "peers", "lag", "state", "error")
                    if c != "group" or any("group" in r for r in rows))
    cells = [[("-" if r[c] is None else (str(r[c])[:12] if c == "state" else str(r[c]))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)
