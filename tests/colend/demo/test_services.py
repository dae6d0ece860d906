"""Each member's clearing service is configured beside its own node, with its own key, books and API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearing.service.config import load_config
from clearing.service.keys import KeyRing, Role
from colend.demo.books import books_paths
from colend.demo.network import DemoNetwork
from colend.demo.services import ServiceDesk, demo_services
from colend.demo.settlement import Instruction, Netting, settle_cycle


def network(tmp_path: Path) -> DemoNetwork:
    keys = {m: tmp_path / f"{m.lower()}.key" for m in ("WEBANK", "MYBANK", "REGULATOR")}
    return DemoNetwork(
        root=tmp_path, contracts={}, accounts={}, key_files=keys,
        member_node={"WEBANK": "webank-0", "MYBANK": "mybank-0", "REGULATOR": "regulator-0"},
        node_urls={"webank-0": "http://127.0.0.1:8001", "mybank-0": "http://127.0.0.1:8002", "regulator-0": "http://127.0.0.1:8003"},
    )  # fmt: skip


def test_each_member_gets_its_own_service_beside_its_own_node(tmp_path: Path) -> None:
    """A bank's follows its node, signs with its key, reads its books; the regulator's reads the observer."""
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
    # the regulator's service reads every bank from the observer node and holds no account key
    config = load_config(services.launchers["REGULATOR"].config)
    assert config.mode == "regulator" and config.books is None
    assert config.node is not None and config.node.url == net.url("REGULATOR") and config.node.account_key_file is None
    (key,) = services.keys["REGULATOR"]
    principal = KeyRing.load(config.keys_file).authenticate(key.secret)
    assert principal.role is Role.REGULATOR and principal.bank is None


class FakeServices:
    """Answers like the banks' services would, from a tiny model of the cycle; records every call."""

    def __init__(self, netting: Netting) -> None:
        self.netting = netting
        self.calls: list[tuple[str, str, str, str]] = []
        self.status = "NETTED"
        self.confirmed: set[str] = set()
        self.paid: set[int] = set()
        self.acknowledged: set[int] = set()

    def call(self, member: str, key_id: str, method: str, path: str, body: object | None = None) -> Any:
        self.calls.append((member, key_id, method, path))
        if path.endswith("/confirm"):
            self.confirmed.add(member)
            if self.confirmed == {b for b, p in self.netting.positions.items() if p}:
                self.status = "CONFIRMED"
        elif path.endswith("/payment"):
            return {"proposal_id": 100 + int(path.split("/")[-2])}
        elif path.endswith("/approve"):
            self.paid.add(int(path.split("/")[-2]) - 100)
        elif path.endswith("/acknowledge"):
            self.acknowledged.add(int(path.split("/")[-2]))
            if len(self.acknowledged) == len(self.netting.instructions):
                self.status = "SETTLED"
        return None

    def wait_for(self, member: str, key_id: str, path: str, ready: Any) -> Any:
        if path.endswith("/instructions"):
            reply = {"items": [{"index": i.index, "state": "PAID" if i.index in self.paid else "UNPAID"}
                               for i in self.netting.instructions]}  # fmt: skip
        else:
            reply = {"cycle": {"status": self.status}}
        assert ready(reply), f"{member} waits for {path} in a state that never comes: {reply}"
        return reply


class FakeChain:
    def __init__(self, netting: Netting) -> None:
        self.netting = netting
        self.closed_by: list[str] = []

    def close_and_net(self, bank: str) -> Netting:
        self.closed_by.append(bank)
        return self.netting


def test_settlement_through_the_services_keeps_four_eyes_and_the_order_of_steps() -> None:
    plan = (Instruction(0, "HRBANK", "WEBANK", 500), Instruction(1, "MYBANK", "WEBANK", 300))
    netting = Netting(1, {"WEBANK": 800, "HRBANK": -500, "MYBANK": -300, "XWBANK": 0}, plan)
    services, chain = FakeServices(netting), FakeChain(netting)
    log = settle_cycle(ServiceDesk(services, chain), ("WEBANK", "MYBANK", "XWBANK", "HRBANK"),  # type: ignore[arg-type]
                       closer="XWBANK", payment_date="20261124")  # fmt: skip
    assert log.status == "SETTLED" and chain.closed_by == ["XWBANK"]
    assert sorted(log.confirmed_by) == ["HRBANK", "MYBANK", "WEBANK"], "XWBANK has nothing to confirm"
    posts = [(m, k, p) for m, k, method, p in services.calls if method == "POST"]
    for ins in plan:
        enter = posts.index((ins.payer, f"{ins.payer.lower()}-officer-a", f"/cycles/1/instructions/{ins.index}/payment"))
        approve = posts.index((ins.payer, f"{ins.payer.lower()}-officer-b", f"/payments/{100 + ins.index}/approve"))
        ack = posts.index((ins.payee, f"{ins.payee.lower()}-officer-a", f"/cycles/1/instructions/{ins.index}/acknowledge"))
        assert enter < approve < ack
