"""Ledger groups of a running consortium: `add-group`, `stop-group`, `start-group` and `remove-group`.

node.toml is the source of truth: a running node re-reads it about once a second, starts the groups newly in
its `[[groups]]` (dialling the peers newly in `[p2p] peers`) and stops those no longer there, their data kept.
These commands only write files, each whole (atomic.py), holding the folder's lock, every refusal made before
the first write; a group's genesis is written before any node.toml names it, consortium.json last.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from colend.consortium.atomic import locked
from colend.consortium.groups import GroupPlan, plan_group
from colend.consortium.layout import (
    GroupEntry,
    Manifest,
    NodeEntry,
    ca_dir,
    group_config,
    group_data_dir,
    group_genesis,
    read_manifest,
)
from colend.consortium.setup import peer_of, write_group_genesis
from colend.errors import (
    GroupBankWithoutNode,
    GroupDataInUse,
    GroupFilesExist,
    GroupNotOnNode,
    LastGroupOfNode,
    NoSuchGroup,
    NoSuchNode,
)
from network.qbft.quorum import quorum_size
from node.config import DEFAULT_GROUP, GroupConfig, NodeConfig, load_config
from node.engine.genesis_build import member_of
from node.keyfiles import read_key

# How long `remove-group --delete-data` waits for running nodes to stop the group and let go of its store.
STORE_RELEASE_S = 20.0
STORE_POLL_S = 0.2


@dataclass(frozen=True)
class NodeChange:
    """What a command did on one node: one line of its output. Paths are relative to the consortium folder."""

    node: str
    role: str
    did: str  # "added", "stopped", "started", "removed", "already stopped", "already running"
    peers_added: tuple[str, ...] = ()
    peers_dropped: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class GroupChange:
    group: GroupEntry
    nodes: tuple[NodeChange, ...]
    warnings: tuple[str, ...] = ()


def add_group(root: Path, members: tuple[str, ...]) -> GroupChange:
    """A new group of `members` (and every observer) for the consortium's nodes, planned and refused as init
    plans `--groups`: its genesis into DIR and each of its nodes' folders, then their node.toml (the group, and
    the group's nodes they do not peer with yet), then consortium.json."""
    with locked(root):
        manifest = read_manifest(root)
        observers = manifest.observers()
        existing = [GroupPlan(g.name, g.chain_id, g.members) for g in manifest.groups]
        plan = plan_group(members, manifest.banks(), observers, existing, manifest.next_chain_id(), "--members")
        revoked = _revoked_serials(root)
        chosen = {e.name for e in manifest.nodes
                  if (e.member in plan.members or e.member in observers) and e.cert_serial.lower() not in revoked}
        _check_new_group(root, plan, [e for e in manifest.nodes if e.name in chosen])
        configs = {name: load_config(manifest.node(name).config(root)) for name in chosen}  # each must read
        accounts = {m: member_of(m, "BANK" if m in plan.members else "OBSERVER",
                                 read_key(root / m / "keys" / "account.key")) for m in (*plan.members, *observers)}
        nodes = tuple(replace(e, groups=(*e.groups, plan.name)) if e.name in chosen else e for e in manifest.nodes)
        group = write_group_genesis(root, plan, observers, accounts, nodes)
        holders = [e for e in nodes if e.name in chosen]
        changes = []
        for entry in holders:
            config = configs[entry.name]
            assert config.p2p is not None, "a consortium node has peers"
            known = {p.address.lower() for p in config.p2p.peers}
            new = [o for o in holders if o.name != entry.name and o.address.lower() not in known]
            replace(config, groups=_with_group(config, plan.name),
                    p2p=replace(config.p2p, peers=(*config.p2p.peers, *map(peer_of, new)))).write(entry.config(root))
            changes.append(NodeChange(entry.name, entry.role, "added", peers_added=tuple(o.name for o in new)))
        Manifest(manifest.chain_id, nodes, (*manifest.groups, group), manifest.removed).write(root)
    return GroupChange(group, tuple(changes))


def stop_group(root: Path, name: str, node: str | None = None) -> GroupChange:
    """Out of the node.toml of every node running it (or of `node` alone): they stop it; genesis and data stay,
    and consortium.json lists it among the node's `stopped`."""
    with locked(root):
        manifest = read_manifest(root)
        group = _group(manifest, name)
        targets, already = _holders(manifest, name, node, running=True)
        for entry in targets:
            _refuse_last_group(entry, name, "stop")
        after, first = _stop_on(root, manifest, name, targets)
        after.write(root)
    changes = [NodeChange(e.name, e.role, "stopped", note=_first_note(e.name, first)) for e in targets]
    changes += [NodeChange(e.name, e.role, "already stopped") for e in already]
    return GroupChange(group, tuple(changes), _quorum_warnings(after, group))


def start_group(root: Path, name: str, node: str | None = None) -> GroupChange:
    """Back into the node.toml of every node that has it stopped (or of `node` alone), on its kept data."""
    with locked(root):
        manifest = read_manifest(root)
        group = _group(manifest, name)
        targets, already = _holders(manifest, name, node, running=False)
        for entry in targets:
            if not (entry.folder(root) / group_genesis(name)).exists():
                raise FileNotFoundError(f"{entry.folder(root) / group_genesis(name)}: {name}'s genesis is gone")
        for entry in targets:
            config = load_config(entry.config(root))
            replace(config, groups=_with_group(config, name)).write(entry.config(root))
        moved = {e.name for e in targets}
        Manifest(manifest.chain_id, tuple(
            replace(e, groups=(*e.groups, name), stopped=_without(e.stopped, name)) if e.name in moved else e
            for e in manifest.nodes), manifest.groups, manifest.removed).write(root)
    changes = [NodeChange(e.name, e.role, "started") for e in targets]
    changes += [NodeChange(e.name, e.role, "already running") for e in already]
    return GroupChange(group, tuple(changes))


def remove_group(root: Path, name: str, *, delete_data: bool = False, wait_s: float = STORE_RELEASE_S) -> GroupChange:
    """Stopped everywhere, then out of consortium.json (its chain id never given out again), its nodes no longer
    peering the nodes they now share no group with. Its data and genesis copies stay, unless `delete_data`:
    then they are deleted once no running node holds its store open (waiting up to `wait_s`); a group removed
    before, its data kept, can be removed again with `delete_data` to delete that data."""
    with locked(root):
        manifest = read_manifest(root)
        if name not in {g.name for g in manifest.groups} and any(g.name == name for g in manifest.removed):
            if not delete_data:
                raise NoSuchGroup(f"{name} was removed already; what it left stays until remove-group --delete-data")
            group, first = next(g for g in manifest.removed if g.name == name), set()
            holders = [e for e in manifest.nodes if _store_paths(root, manifest, e, name)
                       or _genesis_copy(e.folder(root), name).exists()]
            after = manifest
        else:
            group = _group(manifest, name)
            running = [e for e in manifest.nodes if name in e.groups]
            for entry in running:
                _refuse_last_group(entry, name, "remove")
            holders = [e for e in manifest.nodes if name in (*e.groups, *e.stopped)]
            stopped, first = _stop_on(root, manifest, name, running)
            stopped.write(root)  # consortium.json says what the configs say, should the data still be in use
            after = Manifest(manifest.chain_id, tuple(
                replace(e, groups=_without(e.groups, name), stopped=_without(e.stopped, name)) for e in stopped.nodes),
                tuple(g for g in manifest.groups if g.name != name), (*manifest.removed, group))
        stores = {e.name: _store_paths(root, manifest, e, name) for e in holders}
        if delete_data:
            busy = _wait_released([p for paths in stores.values() for p in paths], wait_s)
            if busy:
                raise GroupDataInUse(
                    f"{name} is stopped on every node, but its store is still open after {wait_s:g} s "
                    f"({', '.join(_relative(root, busy))}): nothing deleted; run remove-group --delete-data "
                    f"again once the nodes let go (a node keeps the group it serves at / until it restarts)")
        changes = []
        for entry in holders:
            dropped = _drop_unshared_peers(root, after.node(entry.name), [after.node(h.name) for h in holders])
            paths = [*stores[entry.name], _genesis_copy(entry.folder(root), name)]
            if delete_data:
                changes.append(NodeChange(entry.name, entry.role, "removed", peers_dropped=dropped,
                                          deleted=_relative(root, _delete(paths))))
            else:
                changes.append(NodeChange(entry.name, entry.role, "removed", peers_dropped=dropped,
                                          kept=_relative(root, [p for p in paths if p.exists()]),
                                          note=_first_note(entry.name, first)))
        if delete_data:
            _delete([_genesis_copy(root, name)])
        after.write(root)
    return GroupChange(group, tuple(changes))


def _group(manifest: Manifest, name: str) -> GroupEntry:
    try:
        return manifest.group(name)
    except KeyError:
        known = ", ".join(g.name for g in manifest.groups)
        raise NoSuchGroup(f"no group {name!r} in this consortium (its groups: {known})") from None


def _holders(manifest: Manifest, name: str, node: str | None, *, running: bool) -> tuple[list[NodeEntry], list[NodeEntry]]:
    """(the nodes to change, the nodes already so): those running the group (`running`) or having it stopped."""
    if node is not None:
        try:
            entries = [manifest.node(node)]
        except KeyError:
            raise NoSuchNode(f"no node {node!r} in this consortium") from None
        if name not in (*entries[0].groups, *entries[0].stopped):
            raise GroupNotOnNode(f"{node} does not hold {name} (its groups: {', '.join(entries[0].groups)})")
    else:
        entries = [e for e in manifest.nodes if name in (*e.groups, *e.stopped)]
    targets = [e for e in entries if name in (e.groups if running else e.stopped)]
    return targets, [e for e in entries if e not in targets]


def _refuse_last_group(entry: NodeEntry, name: str, verb: str) -> None:
    if entry.groups == (name,):
        raise LastGroupOfNode(f"cannot {verb} {name}: it is the only group {entry.name} runs, and a node with no "
                              f"group has nothing to run; add the node's bank to another group first")


def _stop_on(root: Path, manifest: Manifest, name: str, entries: Sequence[NodeEntry]) -> tuple[Manifest, set[str]]:
    """The group out of these nodes' node.toml; the manifest with it among their `stopped`, and the nodes on
    which it was the first group (a running node serves that one at `/` too and keeps it until it restarts)."""
    first = set()
    for entry in entries:
        config = load_config(entry.config(root))
        if config.groups[0].name == name:
            first.add(entry.name)
        replace(config, groups=tuple(g for g in config.groups if g.name != name)).write(entry.config(root))
    names = {e.name for e in entries}
    return Manifest(manifest.chain_id, tuple(
        replace(e, groups=_without(e.groups, name), stopped=(*e.stopped, name)) if e.name in names else e
        for e in manifest.nodes), manifest.groups, manifest.removed), first


def _first_note(node: str, first: set[str]) -> str:
    return "its first group, served at / too: a running node keeps it until it restarts" if node in first else ""


def _with_group(config: NodeConfig, name: str) -> tuple[GroupConfig, ...]:
    """The config's groups, then this one: never first, for a running node serves the first group it started
    with at `/` as well, and keeps it until it restarts."""
    return (*config.groups, group_config(name))


def _without(names: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(n for n in names if n != name)


def _check_new_group(root: Path, plan: GroupPlan, holders: Sequence[NodeEntry]) -> None:
    for member in plan.members:
        if not any(e.member == member and e.role == "validator" for e in holders):
            raise GroupBankWithoutNode(f"--members: {member} has no validator node (none, or all revoked): "
                                       f"the group's other banks would finalize without it")
    paths = [root / group_genesis(plan.name), *(e.folder(root) / p for e in holders
                                                for p in (group_genesis(plan.name), group_data_dir(plan.name)))]
    there = [p for p in paths if p.exists()]
    if there:
        raise GroupFilesExist(f"--members: {plan.name}'s files are already there "
                              f"({', '.join(_relative(root, there))}): a group of that name was removed with "
                              f"its data kept: remove-group --group {plan.name} --delete-data deletes them")


def _revoked_serials(root: Path) -> set[str]:
    path = ca_dir(root) / "revoked.json"
    return {s.lower() for s in json.loads(path.read_text())} if path.exists() else set()


def _quorum_warnings(manifest: Manifest, group: GroupEntry) -> tuple[str, ...]:
    """A group stopped on some of its validators, leaving fewer than a quorum running it, finalizes nothing."""
    running = {e.address.lower() for e in manifest.nodes if group.name in e.groups and e.role == "validator"}
    total = len(group.validators)
    left = sum(1 for v in group.validators if v.lower() in running)
    if left == 0 or left >= quorum_size(total):  # stopped everywhere: as meant
        return ()
    return (f"{group.name}: {left} of its {total} validators still run it, fewer than a quorum of "
            f"{quorum_size(total)}: it finalizes no block until start-group brings enough back",)


def _drop_unshared_peers(root: Path, entry: NodeEntry, others: Sequence[NodeEntry]) -> tuple[str, ...]:
    """Out of its static peers: the other nodes it now shares no group with, running or stopped."""
    mine = {*entry.groups, *entry.stopped}
    gone = {o.address.lower(): o.name for o in others
            if o.name != entry.name and not mine & {*o.groups, *o.stopped}}
    config = load_config(entry.config(root))
    assert config.p2p is not None, "a consortium node has peers"
    dropped = [p for p in config.p2p.peers if p.address.lower() in gone]
    if dropped:
        peers = tuple(p for p in config.p2p.peers if p not in dropped)
        replace(config, p2p=replace(config.p2p, peers=peers)).write(entry.config(root))
    return tuple(gone[p.address.lower()] for p in dropped)


def _store_paths(root: Path, manifest: Manifest, entry: NodeEntry, name: str) -> list[Path]:
    """What a group's store is on a node. The default group's folder is data/ itself, which holds the other
    groups' folders too: its store is data/'s entries that are no other group's."""
    data = entry.folder(root) / group_data_dir(name)
    if not data.exists():
        return []
    if name != DEFAULT_GROUP:
        return [data]
    others = {g.name for g in (*manifest.groups, *manifest.removed)} - {DEFAULT_GROUP}
    return sorted(p for p in data.iterdir() if p.name not in others)


def _wait_released(paths: Sequence[Path], wait_s: float) -> list[Path]:
    """The LevelDB LOCK files under these paths that a process still holds, once free or after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        busy = [lock for path in paths if path.is_dir() for lock in path.rglob("LOCK") if _held(lock)]
        if not busy or time.monotonic() >= deadline:
            return busy
        time.sleep(STORE_POLL_S)


def _held(lock: Path) -> bool:
    """Whether another process holds this LOCK file's lock, as LevelDB does while a store is open."""
    try:
        with open(lock, "r+b") as f:
            try:
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.lockf(f, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:  # the store went between listing and looking
        return False


def _genesis_copy(folder: Path, name: str) -> Path:
    """A group's genesis in DIR or a node's folder: its `groups/<group>/` folder, the default group's file."""
    path = folder / group_genesis(name)
    return path if name == DEFAULT_GROUP else path.parent


def _delete(paths: Iterable[Path]) -> list[Path]:
    """The paths that were there, deleted."""
    gone = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        gone.append(path)
    return gone


def _relative(root: Path, paths: Iterable[Path]) -> tuple[str, ...]:
    return tuple(str(p.relative_to(root)) for p in paths)
