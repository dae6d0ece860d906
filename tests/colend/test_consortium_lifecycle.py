"""`colend consortium add-group|stop-group|start-group|remove-group`: groups of a running consortium, made,
stopped and removed by writing node.toml (which running nodes re-read) and consortium.json, nothing else."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from colend.cli import main
from colend.consortium.layout import MANIFEST, NodeEntry, read_manifest
from colend.consortium.operate import NodeStatus, rpc_status, status_rows
from colend.consortium.setup import revoke_node
from network.qbft import PrivateKeySigner
from node.config import GroupConfig, load_config
from node.keyfiles import read_key

BANKS = ["WEBANK", "MYBANK", "XWBANK", "HRBANK"]
GROUPS = "WEBANK+XWBANK,WEBANK+HRBANK,MYBANK+XWBANK"  # webank-xwbank 4001, webank-hrbank 4002, mybank-xwbank 4003
CHAIN_ID = 4000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lifecycle") / "c"
    assert main(["consortium", "init", "--banks", ",".join(BANKS), "--observers", "REGULATOR", "--out", str(root),
                 "--base-port", "0", "--chain-id", str(CHAIN_ID), "--groups", GROUPS]) == 0
    return root


@pytest.fixture
def root(template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    copy = tmp_path / "c"
    shutil.copytree(template, copy)
    capsys.readouterr()
    return copy


def run(root: Path, *args: str) -> int:
    return main(["consortium", args[0], str(root), *args[1:]])


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}


def config_bytes(root: Path, node: str) -> bytes:
    return read_manifest(root).node(node).config(root).read_bytes()


def peer_names(root: Path, node: str) -> set[str]:
    manifest = read_manifest(root)
    by_address = {n.address: n.name for n in manifest.nodes}
    config = load_config(manifest.node(node).config(root))
    assert config.p2p is not None
    return {by_address[p.address] for p in config.p2p.peers}


def group_names(root: Path, node: str) -> list[str]:
    return [g.name for g in load_config(read_manifest(root).node(node).config(root)).groups]


def plant_store(root: Path, node: str, group: str) -> Path:
    """What a node that ran the group leaves: its LevelDB folder with its LOCK file."""
    chain = read_manifest(root).node(node).folder(root) / "data" / group / "chain"
    chain.mkdir(parents=True)
    (chain / "LOCK").touch()
    (chain / "000001.ldb").write_bytes(b"blocks")
    return chain.parent


def test_add_group_writes_its_genesis_its_nodes_configs_and_peers_and_the_manifest(root: Path, capsys) -> None:
    before = {n.name: config_bytes(root, n.name) for n in read_manifest(root).nodes}
    peers_before = {n.name: peer_names(root, n.name) for n in read_manifest(root).nodes}
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"group mybank-hrbank: chain id {CHAIN_ID + 4}, banks MYBANK+HRBANK, observers REGULATOR")
    assert [line.split()[0] for line in lines[1:4]] == ["mybank-0", "hrbank-0", "regulator-0"]  # one per node touched
    assert "peers +hrbank-0" in lines[1] and "peers +mybank-0" in lines[2] and "peers" not in lines[3]

    manifest = read_manifest(root)
    group = manifest.group("mybank-hrbank")
    holders = [manifest.node(n) for n in ("mybank-0", "hrbank-0", "regulator-0")]
    assert (group.chain_id, group.members, group.observers) == (CHAIN_ID + 4, ("MYBANK", "HRBANK"), ("REGULATOR",))
    assert group.validators == (manifest.node("mybank-0").address, manifest.node("hrbank-0").address)
    genesis = json.loads((root / "groups" / "mybank-hrbank" / "genesis.json").read_text())
    accounts = {m: "0x" + PrivateKeySigner(read_key(root / m / "keys" / "account.key")).address.hex()
                for m in ("MYBANK", "HRBANK", "REGULATOR")}
    assert genesis["chainId"] == CHAIN_ID + 4 and genesis["validators"] == list(group.validators)
    assert [(m["bankId"], m["role"], m["accounts"][0].lower()) for m in genesis["members"]] == [
        ("MYBANK", "BANK", accounts["MYBANK"]), ("HRBANK", "BANK", accounts["HRBANK"]),
        ("REGULATOR", "OBSERVER", accounts["REGULATOR"])]  # each bank's one account, as in its other groups
    assert set(genesis["contracts"]) == {"Consortium", "Clearing", "CoLending"}
    for entry in holders:
        assert (entry.folder(root) / "groups" / "mybank-hrbank" / "genesis.json").read_text() == json.dumps(
            genesis, indent=2) + "\n"
        assert load_config(entry.config(root)).groups[-1] == GroupConfig(
            "mybank-hrbank", "groups/mybank-hrbank/genesis.json", "data/mybank-hrbank")
        assert "mybank-hrbank" in entry.groups
    assert peer_names(root, "mybank-0") == peers_before["mybank-0"] | {"hrbank-0"}
    assert peer_names(root, "hrbank-0") == peers_before["hrbank-0"] | {"mybank-0"}
    assert peer_names(root, "regulator-0") == peers_before["regulator-0"]  # it peers with everyone already
    for untouched in ("webank-0", "xwbank-0"):
        assert config_bytes(root, untouched) == before[untouched]
        assert not (manifest.node(untouched).folder(root) / "groups" / "mybank-hrbank").exists()

    doc = json.loads((root / MANIFEST).read_text())
    assert doc["groups"][-1] == group.to_json()
    hrbank = next(n for n in doc["nodes"] if n["name"] == "hrbank-0")
    assert hrbank["groups"] == ["webank-hrbank", "mybank-hrbank"] and "stopped" not in hrbank
    assert hrbank["rpcUrls"]["mybank-hrbank"] == f"http://127.0.0.1:{hrbank['rpc_port']}/g/mybank-hrbank"


def test_after_add_group_a_banks_folder_holds_only_its_material_and_the_genesis_of_its_groups(root: Path) -> None:
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 0
    manifest = read_manifest(root)
    keys = list(root.rglob("*.key"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys)
    geneses = {g.name: (root / g.genesis).read_bytes() for g in manifest.groups}
    for member in (*BANKS, "REGULATOR"):
        folder = root / member
        mine = {g.name for g in manifest.groups if member in g.members or member in g.observers}
        others = [p.read_bytes().strip() for p in keys if not p.is_relative_to(folder)]
        for path in (p for p in folder.rglob("*") if p.is_file()):
            content = path.read_bytes()
            assert not any(secret in content for secret in others), path
            assert not any(content == text for g, text in geneses.items() if g not in mine), path
        for node in (n for n in manifest.nodes if n.member == member):
            assert {p.name for p in (node.folder(root) / "groups").iterdir()} == mine == set(node.groups)


def test_add_group_leaves_out_revoked_nodes_and_refuses_a_bank_with_no_validator_node_left(root: Path, capsys) -> None:
    revoke_node(root, "hrbank-0")
    before = snapshot(root)
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 2
    assert "error [colend.group_bank_without_node]: --members: HRBANK has no validator node" in capsys.readouterr().err
    assert snapshot(root) == before


def test_a_removed_groups_chain_id_is_never_given_again_and_its_kept_files_refuse_its_return(root: Path, capsys) -> None:
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 0
    kept = plant_store(root, "hrbank-0", "mybank-hrbank")
    assert run(root, "remove-group", "--group", "mybank-hrbank") == 0
    capsys.readouterr()
    before = snapshot(root)
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 2
    err = capsys.readouterr().err
    assert err.startswith("error [colend.group_files_exist]: ") and "HRBANK/hrbank-0/data/mybank-hrbank" in err
    assert snapshot(root) == before
    assert run(root, "remove-group", "--group", "mybank-hrbank", "--delete-data") == 0  # what it left, deleted
    assert not kept.exists()
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 0
    manifest = read_manifest(root)
    assert manifest.group("mybank-hrbank").chain_id == CHAIN_ID + 5  # 4004 went to the removed one
    assert [(g.name, g.chain_id) for g in manifest.removed] == [("mybank-hrbank", CHAIN_ID + 4)]


def test_stop_group_on_one_node_keeps_its_files_and_start_group_brings_it_back(root: Path, capsys) -> None:
    store = plant_store(root, "webank-0", "webank-xwbank")
    others = {n: config_bytes(root, n) for n in ("xwbank-0", "hrbank-0", "regulator-0")}
    assert run(root, "stop-group", "--group", "webank-xwbank", "--node", "webank-0") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["webank-0", "validator", "stopped"] and len(out) == 4
    assert "(its first group, served at / too: a running node keeps it until it restarts)" in out[1]
    assert out[2].startswith("warning: webank-xwbank: 1 of its 2 validators still run it, fewer than a quorum of 2")
    assert group_names(root, "webank-0") == ["webank-hrbank"]
    assert {n: config_bytes(root, n) for n in others} == others
    webank = read_manifest(root).node("webank-0")
    assert (webank.groups, webank.stopped) == (("webank-hrbank",), ("webank-xwbank",))
    assert (store / "chain" / "000001.ldb").exists() and (webank.folder(root) / "groups/webank-xwbank/genesis.json").exists()
    doc = next(n for n in json.loads((root / MANIFEST).read_text())["nodes"] if n["name"] == "webank-0")
    assert doc["stopped"] == ["webank-xwbank"] and list(doc["rpcUrls"]) == ["webank-hrbank"]
    assert peer_names(root, "webank-0") >= {"xwbank-0"}  # kept, for start-group

    assert run(root, "stop-group", "--group", "webank-xwbank", "--node", "webank-0") == 0  # again: nothing to do
    assert "already stopped" in capsys.readouterr().out
    assert run(root, "start-group", "--group", "webank-xwbank") == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["webank-0", "validator", "started"]
    assert group_names(root, "webank-0") == ["webank-hrbank", "webank-xwbank"]  # last: the first runs at / as well
    webank = read_manifest(root).node("webank-0")
    assert (set(webank.groups), webank.stopped) == ({"webank-xwbank", "webank-hrbank"}, ())


def test_stop_group_everywhere_touches_each_node_holding_it_and_no_other(root: Path, capsys) -> None:
    untouched = {n: config_bytes(root, n) for n in ("mybank-0", "hrbank-0")}
    assert run(root, "stop-group", "--group", "webank-xwbank") == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:-1]] == ["webank-0", "xwbank-0", "regulator-0"]  # no warning: all stopped
    for node in ("webank-0", "xwbank-0", "regulator-0"):
        assert "webank-xwbank" not in group_names(root, node)
        assert read_manifest(root).node(node).stopped == ("webank-xwbank",)
    assert {n: config_bytes(root, n) for n in untouched} == untouched
    assert read_manifest(root).group("webank-xwbank").name == "webank-xwbank"  # still a group of the consortium


@pytest.mark.parametrize(("args", "code", "says"), [  # add-group's: init's refusals of --groups, and their codes
    (("add-group", "--members", "WEBANK"), "colend.group_too_small", "--members: WEBANK has fewer than 2 banks"),
    (("add-group", "--members", "WEBANK,CNBANK"), "colend.group_unknown_bank", "CNBANK, not a bank of the consortium"),
    (("add-group", "--members", "WEBANK,REGULATOR"), "colend.group_unknown_bank", "observers are in every group"),
    (("add-group", "--members", "XWBANK,WEBANK"), "colend.group_duplicate", "same banks as webank-xwbank"),
    (("add-group", "--members", "MYBANK,MYBANK"), "colend.invalid_groups", "--members: MYBANK+MYBANK names a bank twice"),
    (("stop-group", "--group", "nope"), "colend.no_such_group", "no group 'nope'"),
    (("stop-group", "--group", "webank-xwbank", "--node", "cnbank-0"), "colend.no_such_node", "no node 'cnbank-0'"),
    (("stop-group", "--group", "webank-xwbank", "--node", "hrbank-0"), "colend.group_not_on_node",
     "hrbank-0 does not hold webank-xwbank"),
    (("stop-group", "--group", "webank-hrbank", "--node", "hrbank-0"), "colend.last_group_of_node",
     "only group hrbank-0 runs, and a node with no group has nothing to run"),
    (("stop-group", "--group", "mybank-xwbank"), "colend.last_group_of_node", "only group mybank-0 runs"),
    (("start-group", "--group", "nope"), "colend.no_such_group", "no group 'nope'"),
    (("remove-group", "--group", "webank-hrbank"), "colend.last_group_of_node", "cannot remove webank-hrbank"),
    (("remove-group", "--group", "nope", "--delete-data"), "colend.no_such_group", "its groups: webank-xwbank"),
])
def test_group_commands_refuse_with_a_stable_code_and_write_nothing(root: Path, capsys, args: tuple[str, ...],
                                                                   code: str, says: str) -> None:
    before = snapshot(root)
    assert run(root, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error [{code}]: ") and says in err
    assert snapshot(root) == before


def test_remove_group_keeps_data_and_genesis_unless_delete_data_and_drops_peers_sharing_nothing(root: Path,
                                                                                               capsys) -> None:
    stores = [plant_store(root, n, "webank-xwbank") for n in ("webank-0", "xwbank-0", "regulator-0")]
    assert run(root, "remove-group", "--group", "webank-xwbank") == 0
    out = capsys.readouterr().out
    assert "kept WEBANK/webank-0/data/webank-xwbank, WEBANK/webank-0/groups/webank-xwbank" in out
    assert "no data was deleted" in out
    manifest = read_manifest(root)
    assert [g.name for g in manifest.groups] == ["webank-hrbank", "mybank-xwbank"]
    assert [g.name for g in manifest.removed] == ["webank-xwbank"]
    assert json.loads((root / MANIFEST).read_text())["removedGroups"][0]["chainId"] == CHAIN_ID + 1
    for entry in manifest.nodes:
        assert "webank-xwbank" not in (*entry.groups, *entry.stopped, *group_names(root, entry.name))
    assert all((s / "chain" / "000001.ldb").exists() for s in stores)
    assert (root / "groups" / "webank-xwbank" / "genesis.json").exists()
    assert (manifest.node("xwbank-0").folder(root) / "groups" / "webank-xwbank" / "genesis.json").exists()
    assert "xwbank-0" not in peer_names(root, "webank-0") and "webank-0" not in peer_names(root, "xwbank-0")
    assert peer_names(root, "regulator-0") == {n.name for n in manifest.nodes} - {"regulator-0"}

    assert run(root, "remove-group", "--group", "webank-xwbank") == 2  # removed: only --delete-data has work left
    assert "error [colend.no_such_group]: webank-xwbank was removed already" in capsys.readouterr().err
    assert run(root, "remove-group", "--group", "webank-xwbank", "--delete-data") == 0
    assert "deleted WEBANK/webank-0/data/webank-xwbank, WEBANK/webank-0/groups/webank-xwbank" in capsys.readouterr().out
    assert not any(s.exists() for s in stores) and not (root / "groups" / "webank-xwbank").exists()
    assert not any(p.name == "webank-xwbank" for p in root.rglob("*"))
    assert (root / "groups" / "webank-hrbank" / "genesis.json").exists()


def test_delete_data_waits_for_the_running_node_to_let_go_of_the_store(root: Path, capsys) -> None:
    store = plant_store(root, "xwbank-0", "webank-xwbank")
    holder = subprocess.Popen(  # a node still running the group: it holds LevelDB's lock as a node does
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'r+b'); fcntl.lockf(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); sys.stdin.read()", str(store / "chain" / "LOCK")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        assert run(root, "remove-group", "--group", "webank-xwbank", "--delete-data", "--wait", "0") == 1
        err = capsys.readouterr().err
        assert err.startswith("error [colend.group_data_in_use]: webank-xwbank is stopped on every node")
        assert "XWBANK/xwbank-0/data/webank-xwbank/chain/LOCK" in err and (store / "chain" / "000001.ldb").exists()
        manifest = read_manifest(root)  # consortium.json says what the configs say: stopped everywhere, not removed
        assert manifest.group("webank-xwbank") and manifest.node("xwbank-0").stopped == ("webank-xwbank",)
        assert "webank-xwbank" not in group_names(root, "xwbank-0")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the node stops the group
        holder.wait(timeout=10)
    assert run(root, "remove-group", "--group", "webank-xwbank", "--delete-data", "--wait", "0") == 0
    assert not store.exists() and [g.name for g in read_manifest(root).removed] == ["webank-xwbank"]


def test_every_file_a_node_reads_is_written_beside_itself_and_renamed(root: Path, monkeypatch) -> None:
    renames: list[tuple[Path, Path]] = []
    replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        renames.append((Path(src), Path(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    before = snapshot(root)
    assert run(root, "add-group", "--members", "MYBANK,HRBANK") == 0
    assert run(root, "stop-group", "--group", "webank-xwbank", "--node", "xwbank-0") == 0
    changed = {root / p for p, v in snapshot(root).items() if before.get(p) != v and (root / p).is_file()}
    assert changed and changed <= {dst for _, dst in renames}
    assert all(src.parent == dst.parent and src.name.startswith(".") for src, dst in renames)
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    names = {p.relative_to(root).as_posix() for p in changed}
    assert {"consortium.json", "MYBANK/mybank-0/node.toml", "XWBANK/xwbank-0/node.toml",
            "HRBANK/hrbank-0/groups/mybank-hrbank/genesis.json"} <= names


def test_status_shows_a_new_group_once_the_node_runs_it_and_a_stopped_group_as_stopped(monkeypatch) -> None:
    running = {"webank-hrbank"}

    def urlopen(request: urllib.request.Request, timeout: float) -> io.BytesIO:
        """A node's RPC port: colend_status at /g/<group> for the groups it runs, a 404 as a node answers else."""
        group = request.full_url.rsplit("/g/", 1)[1]
        if group in running:
            return io.BytesIO(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
                "head": {"number": "0x7"}, "round": 0, "peers": 2, "stateCommitment": "0xab"}}).encode())
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32601, "message": f"unknown group {group!r}",
                                                       "data": {"code": "node.unknown_group", "group": group}}}
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", Message(), io.BytesIO(json.dumps(body).encode()))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    entry = NodeEntry("hrbank-0", "HRBANK", "validator", "0x1", 1, 2, 3, "1", ("webank-hrbank", "mybank-hrbank"),
                      stopped=("old-group",))
    waiting = rpc_status(entry, "mybank-hrbank")
    assert waiting.reply is None and waiting.error.startswith("not running (node.unknown_group)")
    running.add("mybank-hrbank")
    started = rpc_status(entry, "mybank-hrbank")
    assert started.height == 7
    rows = status_rows([rpc_status(entry, "webank-hrbank"), started,
                        NodeStatus(entry, None, "stopped", "old-group", stopped=True)])
    assert [(r["group"], r["height"], r["stopped"], r["error"]) for r in rows] == [
        ("webank-hrbank", 7, False, ""), ("mybank-hrbank", 7, False, ""), ("old-group", None, True, "stopped")]


def test_status_lists_stopped_groups_without_asking_the_node(root: Path, monkeypatch, capsys) -> None:
    assert run(root, "stop-group", "--group", "webank-xwbank", "--node", "webank-0") == 0
    capsys.readouterr()
    asked: list[tuple[str, str]] = []

    def answer(entry: NodeEntry, group: str = "main", timeout_s: float = 3.0) -> NodeStatus:
        asked.append((entry.name, group))
        return NodeStatus(entry, {"head": {"number": "0x3"}, "stateCommitment": "0x00", "peers": 1}, group=group)

    monkeypatch.setattr("colend.consortium.operate.rpc_status", answer)
    assert run(root, "status", "--json") == 0  # a stopped group is no failure
    rows = json.loads(capsys.readouterr().out)
    assert ("webank-0", "webank-xwbank") not in asked
    stopped = [r for r in rows if r["stopped"]]
    assert [(r["node"], r["group"], r["error"]) for r in stopped] == [("webank-0", "webank-xwbank", "stopped")]


def test_the_readmes_consortium_commands_answer_help(capsys) -> None:
    readme = (ROOT / "README.md").read_text()
    commands = sorted(set(re.findall(r"^ {4}colend consortium ([a-z-]+)", readme, re.MULTILINE)))
    assert {"add-group", "stop-group", "start-group", "remove-group", "status"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exit_:
            main(["consortium", command, "--help"])
        assert exit_.value.code == 0, command
        assert f"colend consortium {command}" in capsys.readouterr().out
