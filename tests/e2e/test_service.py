"""The clearing service against a real node: books change -> a run starts by itself -> breaks in the API;
a cycle confirmed, paid (entered by one officer, approved by another) and acknowledged through the API of
each bank's service until the chain says SETTLED."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from web3 import Web3

from contracts.ids import bank_id, text_id
from contracts.rpc_client import SuiteClient
from tests.e2e.node_process import NodeProcess
from tests.e2e.service_process import BOOKS_HEADER, ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BANKS = ("WEBANK", "MYBANK")


def drive_ledger(node: NodeProcess, client: SuiteClient) -> None:
    """One joint loan, its drawdown and a repayment, a fee; cycle 1 closed and netted."""
    we, my = (Account.from_key(node.key(b)) for b in BANKS)
    loan = text_id("LN-S1")
    client.send(we, "CoLending", "registerLoan", {
        "loanId": loan, "servicer": bank_id("WEBANK"), "currency": b"CNY", "principal": 1_000_000,
        "borrowerHash": b"\x01" * 32, "termsHash": b"\x02" * 32,
        "tranches": [{"bank": bank_id("WEBANK"), "shareBps": 3_000}, {"bank": bank_id("MYBANK"), "shareBps": 7_000}],
    })  # fmt: skip
    client.send(
        we, "CoLending", "drawdown", {"loanId": loan, "drawdownId": text_id("DD-S1"), "amount": 1_000_000, "valueDate": 20261120}
    )
    client.send(we, "CoLending", "repay", {
        "loanId": loan, "repaymentId": text_id("RP-S1"), "principal": 100_000, "interest": 4_500, "penalty": 0,
        "valueDate": 20261121,
    })  # fmt: skip
    fee = {
        "entryId": text_id("FEE-S1"), "payer": bank_id("MYBANK"), "payee": bank_id("WEBANK"), "amount": 88_800,
        "kind": 2, "loanId": b"\0" * 32, "valueDate": 20261122, "ref": b"\0" * 32,
    }  # fmt: skip
    client.send(my, "Clearing", "postEntry", fee)
    client.send(my, "Clearing", "closeCycle")
    client.send(we, "Clearing", "netCycle", 1)


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("service")
    node = NodeProcess(root / "node", block_period_ms=20)
    node.start()
    services: dict[str, ServiceProcess] = {}
    try:
        url = f"http://127.0.0.1:{node.port}"
        client = SuiteClient(Web3(Web3.HTTPProvider(url)), node.info["contracts"])
        drive_ledger(node, client)
        keys: dict[str, dict[str, str]] = {}
        for bank in BANKS:
            service = ServiceProcess(
                root / bank.lower(), bank=bank, node_url=url, key_file=root / "node" / "keys" / f"{bank.lower()}.key"
            )
            keys[bank] = {
                "officer_a": service.add_key(f"{bank.lower()}-a", "CLEARING_OFFICER"),
                "officer_b": service.add_key(f"{bank.lower()}-b", "CLEARING_OFFICER"),
                "viewer": service.add_key(f"{bank.lower()}-v", "VIEWER"),
            }
            service.start()
            services[bank] = service
        for bank, service in services.items():
            service.wait_for(f"{bank} ready", lambda s=service: s.request("GET", "/v1/ready")[1]["ready"])
            service.wait_for(f"{bank} netted cycle", lambda s=service, k=keys[bank]: _status(s, k["viewer"]) == "NETTED")
        yield {"node": node, "services": services, "keys": keys, "client": client}
    finally:
        for service in services.values():
            service.stop()
        node.stop()


def _status(service: ServiceProcess, key: str) -> str | None:
    code, body = service.request("GET", "/v1/cycles/1/status", key)
    return body["status"] if code == 200 else None


def test_changed_books_start_a_run_whose_breaks_show_in_the_api(consortium: dict) -> None:
    we: ServiceProcess = consortium["services"]["WEBANK"]
    viewer = consortium["keys"]["WEBANK"]["viewer"]
    assert we.request("GET", "/v1/runs", viewer)[1]["items"] == []  # no books yet: nothing has run
    code, entries = we.request("GET", "/v1/entries?limit=500", viewer)
    assert code == 200 and len(entries["items"]) >= 3
    rows = entries["items"]
    changed, dropped = rows[0], rows[1]
    amount = {e["entry_id"]: e["amount_fen"] + (100 if e is changed else 0) for e in rows}
    lines = [
        f"CLEARING_ENTRY,{e['entry_id']},{amount[e['entry_id']]},{e['value_date']},{e['counterparty']},{e['cycle_id']}"
        for e in rows
        if e is not dropped
    ]
    we.books.write_text(BOOKS_HEADER + "\n".join(lines) + "\n")

    def finished_run() -> dict | None:
        items = we.request("GET", "/v1/runs", viewer)[1]["items"]
        return items[0] if items and items[0]["finished_at"] else None

    run = we.wait_for("a run triggered by the new books", finished_run)
    assert run["trigger"] == "books_changed" and run["verdict"] == "BREAKS"
    assert run["statement"]["overall"]["residual"] == 0
    code, page = we.request("GET", "/v1/breaks?limit=500", viewer)
    found = {(b["break_type"], b["key"]) for b in page["items"]}
    assert ("AMOUNT_MISMATCH", changed["entry_id"]) in found
    assert ("MISSING_IN_BOOKS", dropped["entry_id"]) in found


def test_a_cycle_is_confirmed_paid_with_four_eyes_and_acknowledged_to_settled(consortium: dict) -> None:
    services: dict[str, ServiceProcess] = consortium["services"]
    keys = consortium["keys"]
    for bank in BANKS:
        code, body = services[bank].request("POST", "/v1/cycles/1/confirm", keys[bank]["officer_a"])
        assert code == 200, body
    for bank in BANKS:
        services[bank].wait_for(f"{bank} sees CONFIRMED", lambda b=bank: _status(services[b], keys[b]["viewer"]) == "CONFIRMED")
    code, instructions = services["WEBANK"].request("GET", "/v1/cycles/1/instructions", keys["WEBANK"]["viewer"])
    assert code == 200 and instructions["items"]
    for ins in instructions["items"]:
        payer, payee = services[ins["payer"]], services[ins["payee"]]
        pk, ek = keys[ins["payer"]], keys[ins["payee"]]
        ref = f"CNAPS-E2E-{ins['index']:03d}"
        code, proposal = payer.request(
            "POST", f"/v1/cycles/1/instructions/{ins['index']}/payment", pk["officer_a"], {"payment_ref": ref}
        )
        assert code == 201 and proposal["state"] == "PENDING"
        code, body = payer.request("POST", f"/v1/payments/{proposal['proposal_id']}/approve", pk["officer_a"])
        assert code == 409 and body["error"]["code"] == "clearing.four_eyes"
        code, body = payer.request("POST", f"/v1/payments/{proposal['proposal_id']}/approve", pk["officer_b"])
        assert code == 200 and body["state"] == "SENT", body

        def paid(s=payee, k=ek["viewer"], i=ins["index"], ref=ref) -> bool:
            items = s.request("GET", "/v1/cycles/1/instructions", k)[1]["items"]
            return any(x["index"] == i and x["payment_ref"] == ref for x in items)

        payee.wait_for("the payee's service sees the payment", paid)
        code, body = payee.request("POST", f"/v1/cycles/1/instructions/{ins['index']}/acknowledge", ek["officer_a"])
        assert code == 200, body
    client: SuiteClient = consortium["client"]
    assert client.call("Clearing", "cycleStatus", 1) == 5  # SETTLED on chain
    for bank in BANKS:
        services[bank].wait_for(f"{bank} sees SETTLED", lambda b=bank: _status(services[b], keys[b]["viewer"]) == "SETTLED")
    code, audit = services["WEBANK"].request("GET", "/v1/audit", keys["WEBANK"]["viewer"])
    assert any(e["outcome"] == "clearing.four_eyes" for e in audit["items"]) or any(
        e["outcome"] == "clearing.four_eyes"
        for e in services["MYBANK"].request("GET", "/v1/audit", keys["MYBANK"]["viewer"])[1]["items"]
    )
