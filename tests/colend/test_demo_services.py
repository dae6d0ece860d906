"""Each member's clearing service is configured beside its own node, with its own key, books and API keys."""

from __future__ import annotations

from pathlib import Path

from clearing.service.config import load_config
from clearing.service.keys import KeyRing, Role
from colend.demo_books import books_paths
from colend.demo_network import DemoNetwork
from colend.demo_services import demo_services


def network(tmp_path: Path) -> DemoNetwork:
    keys = {m: tmp_path / f"{m.lower()}.key" for m in ("WEBANK", "MYBANK", "REGULATOR")}
    return DemoNetwork(
        root=tmp_path, contracts={}, accounts={}, key_files=keys,
        member_node={"WEBANK": "webank-0", "MYBANK": "mybank-0", "REGULATOR": "regulator-0"},
        node_urls={"webank-0": "http://127.0.0.1:8001", "mybank-0": "http://127.0.0.1:8002", "regulator-0": "http://127.0.0.1:8003"},
    )  # fmt: skip


def test_each_bank_service_follows_its_own_node_signs_with_its_key_and_reads_its_books(tmp_path: Path) -> None:
    net = network(tmp_path)
    books = {bank: books_paths(bank, tmp_path / "books") for bank in ("WEBANK", "MYBANK")}
    services = demo_services(net, ("WEBANK", "MYBANK"), "REGULATOR", books)
    for bank in ("WEBANK", "MYBANK"):
        config = load_config(services.launchers[bank].config)
        assert (config.mode, config.bank) == ("bank", bank)
        assert config.node is not None and config.node.url == net.url(bank)
        assert config.node.account_key_file == net.key_files[bank]
        assert config.books is not None and Path(config.books.source) == books[bank][0] and config.books.mapping == books[bank][1]
        assert config.books.watch_s == 0 and config.books.schedule_s == 0, "runs on request only"
        ring = KeyRing.load(config.keys_file)
        roles = {k.key_id: ring.authenticate(k.secret) for k in services.keys[bank]}
        assert {p.role for p in roles.values()} == {Role.CLEARING_OFFICER, Role.VIEWER}
        assert all(p.bank == bank for p in roles.values())
        assert sum(p.role is Role.CLEARING_OFFICER for p in roles.values()) == 2, "two officers: four eyes"


def test_the_regulator_service_reads_every_bank_from_the_observer_and_holds_no_key(tmp_path: Path) -> None:
    net = network(tmp_path)
    services = demo_services(net, ("WEBANK",), "REGULATOR", {"WEBANK": books_paths("WEBANK", tmp_path / "books")})
    config = load_config(services.launchers["REGULATOR"].config)
    assert config.mode == "regulator" and config.books is None
    assert config.node is not None and config.node.url == net.url("REGULATOR") and config.node.account_key_file is None
    (key,) = services.keys["REGULATOR"]
    principal = KeyRing.load(config.keys_file).authenticate(key.secret)
    assert principal.role is Role.REGULATOR and principal.bank is None
