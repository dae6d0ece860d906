"""What officers, viewers and regulators rely on from the API: scope, four eyes, errors, paging, the regulator."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from clearing.service.state import AUDIT, CONFIG
from tests.clearing.service.conftest import as_

pytestmark = pytest.mark.timeout(60)
JSON_TYPE = {"Content-Type": "application/json"}


async def test_another_banks_loan_answers_exactly_like_a_missing_one(client) -> None:
    hidden = await client.get("/v1/loans/LN-2", headers=as_("alice"))
    missing = await client.get("/v1/loans/LN-404", headers=as_("alice"))
    assert hidden.status == missing.status == 404
    assert (await hidden.text()).replace("LN-2", "X") == (await missing.text()).replace("LN-404", "X")
    mine = await client.get("/v1/loans/LN-1", headers=as_("alice"))
    body = await mine.json()
    assert body["servicer"] == "WEBANK" and {t["bank"]: t["outstanding_fen"] for t in body["tranches"]} == {
        "WEBANK": 300_000,
        "MYBANK": 700_000,
    }
    regulator = await client.get("/v1/loans/LN-2", headers=as_("rita"))
    assert regulator.status == 200 and (await regulator.json())["outstanding_fen"] == 1_000_000


async def test_a_bank_sees_only_its_cycles_and_its_side_of_entries(client) -> None:
    cycles = await (await client.get("/v1/cycles", headers=as_("vera"))).json()
    assert [c["cycle_id"] for c in cycles["items"]] == [3, 1]
    other = await client.get("/v1/cycles/2/status", headers=as_("vera"))
    missing = await client.get("/v1/cycles/99/status", headers=as_("vera"))
    assert other.status == missing.status == 404
    assert (await client.get("/v1/cycles", headers=as_("rita"))).status == 200
    regulator = await (await client.get("/v1/cycles", headers=as_("rita"))).json()
    assert [c["cycle_id"] for c in regulator["items"]] == [3, 2, 1]
    entries = await (await client.get("/v1/entries?counterparty=MYBANK", headers=as_("vera"))).json()
    assert {e["entry_id"]: e["amount_fen"] for e in entries["items"]} == {"E1": 10_000, "E2": -2_500, "E6": -123_456_789}
    peek = await client.get("/v1/entries?bank=MYBANK", headers=as_("vera"))
    assert peek.status == 404


async def test_settlement_status_per_counterparty(client) -> None:
    status = await (await client.get("/v1/cycles/3/status", headers=as_("vera"))).json()
    assert status["status"] == "CONFIRMED" and set(status["confirmations"]) == {"WEBANK", "MYBANK"}
    parties = {p["bank"]: p for p in status["parties"]}
    assert parties["WEBANK"]["position_fen"] == -123_456_789 and parties["WEBANK"]["payments_to_make"] == 1
    assert status["instructions"][0]["state"] == "UNPAID"


async def test_payment_reference_goes_on_chain_only_after_a_second_officer(client, signer) -> None:
    url = "/v1/cycles/3/instructions/0/payment"
    proposed = await client.post(url, json={"payment_ref": "CNAPS-20261124-1"}, headers=as_("alice"))
    assert proposed.status == 201 and (await proposed.json())["state"] == "PENDING"
    assert signer.calls == []
    again = await client.post(url, json={"payment_ref": "CNAPS-OTHER"}, headers=as_("bob"))
    assert again.status == 409  # one live reference per instruction
    own = await client.post("/v1/payments/1/approve", headers=as_("alice"))
    assert own.status == 409 and (await own.json())["error"]["code"] == "clearing.four_eyes"
    assert signer.calls == []
    approved = await client.post("/v1/payments/1/approve", headers=as_("bob"))
    body = await approved.json()
    assert approved.status == 200 and body["state"] == "SENT" and body["decided_by"] == "bob" and body["tx_hash"]
    assert signer.calls == [("record_payment", 3, 0, "CNAPS-20261124-1")]
    twice = await client.post("/v1/payments/1/approve", headers=as_("bob"))
    assert twice.status == 409 and len(signer.calls) == 1
    trail = client.server.app[AUDIT].page(bank="WEBANK", after=None, limit=10)
    assert [(e.actor, e.status, e.outcome) for e in reversed(trail)] == [
        ("alice", 201, "ok"),
        ("bob", 409, "clearing.conflict"),
        ("alice", 409, "clearing.four_eyes"),
        ("bob", 200, "ok"),
        ("bob", 409, "clearing.conflict"),
    ]


async def test_only_the_payer_enters_and_only_the_payee_acknowledges(client, signer) -> None:
    wrong_side = await client.post("/v1/cycles/1/instructions/0/payment", json={"payment_ref": "X1"}, headers=as_("alice"))
    assert wrong_side.status == 409  # MYBANK pays in cycle 1
    ack = await client.post("/v1/cycles/1/instructions/0/acknowledge", headers=as_("alice"))
    assert ack.status == 200 and signer.calls == [("acknowledge", 1, 0)]
    missing = await client.post("/v1/cycles/1/instructions/7/acknowledge", headers=as_("alice"))
    assert missing.status == 404


async def test_a_viewer_cannot_assign_and_the_break_stays_as_it_was(client) -> None:
    url = "/v1/breaks/AMOUNT_MISMATCH/CLEARING_ENTRY/E2"
    refused = await client.post(url + "/assign", json={"assignee": "vera", "comment": "mine"}, headers=as_("vera"))
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "clearing.forbidden"
    detail = await (await client.get(url, headers=as_("vera"))).json()
    assert detail["item"]["state"] == "OPEN" and detail["item"]["assignee"] is None
    assigned = await client.post(url + "/assign", json={"assignee": "bob", "comment": "check the fee"}, headers=as_("alice"))
    assert assigned.status == 200 and (await assigned.json())["assignee"] == "bob"
    await client.post(url + "/comment", json={"comment": "books say 26.00"}, headers=as_("bob"))
    resolved = await client.post(url + "/resolve", json={"comment": "booked the correction"}, headers=as_("bob"))
    assert resolved.status == 200 and (await resolved.json())["state"] == "RESOLVED"
    history = (await (await client.get(url, headers=as_("vera"))).json())["history"]
    assert [(h["actor"], h["to_state"]) for h in history] == [
        ("system", "OPEN"),
        ("alice", "ASSIGNED"),
        ("bob", "ASSIGNED"),
        ("bob", "RESOLVED"),
    ]
    again = await client.post(url + "/resolve", json={"comment": "twice"}, headers=as_("bob"))
    assert again.status == 409 and (await again.json())["error"]["code"] == "clearing.illegal_transition"


async def test_breaks_filter_and_page_by_cursor(client) -> None:
    seen, after = [], None
    while True:
        query = "/v1/breaks?limit=1" + (f"&after={after}" if after else "")
        page = await (await client.get(query, headers=as_("vera"))).json()
        seen += [b["break_id"] for b in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 3
    missing = await (await client.get("/v1/breaks?type=MISSING_IN_BOOKS", headers=as_("vera"))).json()
    assert [b["key"] for b in missing["items"]] == ["E6"]
    young = await (await client.get("/v1/breaks?age=0-1", headers=as_("vera"))).json()
    assert young["items"] == []  # the world's breaks were first seen on 2026-11-02, weeks ago
    aged = await (await client.get("/v1/breaks?age=8-30&state=OPEN", headers=as_("vera"))).json()
    old = await (await client.get("/v1/breaks?age=%3E30", headers=as_("vera"))).json()
    assert len(aged["items"]) + len(old["items"]) == 3
    bad = await client.get("/v1/breaks?type=NOPE", headers=as_("vera"))
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "clearing.bad_request"


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("POST", "/v1/breaks/X/assign", {"data": b"{not json", "headers": JSON_TYPE}, 400, "clearing.bad_request"),
        ("POST", "/v1/breaks/X/assign", {"json": {"assignee": "b", "comment": "c", "extra": 1}}, 400, "clearing.bad_request"),
        ("POST", "/v1/breaks/X/assign", {"json": ["not", "an", "object"]}, 400, "clearing.bad_request"),
        ("POST", "/v1/breaks/X/comment", {"json": {"comment": "x" * 5000}}, 413, "clearing.payload_too_large"),
        ("GET", "/v1/cycles/not-a-number", {}, 400, "clearing.bad_request"),
        ("GET", "/v1/cycles?limit=100000", {}, 400, "clearing.bad_request"),
        ("GET", "/v1/cycles?after=abc", {}, 400, "clearing.bad_request"),
        ("GET", "/v1/nowhere", {}, 404, "clearing.not_found"),
        ("DELETE", "/v1/cycles", {}, 405, "clearing.method_not_allowed"),
        ("POST", "/v1/cycles/3/instructions/0/payment", {"json": {"payment_ref": "has space"}}, 400, "clearing.bad_request"),
    ],
)
async def test_bad_input_is_a_4xx_with_a_stable_code(client, method, url, kwargs, status, code) -> None:
    headers = {**as_("alice"), **kwargs.pop("headers", {})}
    response = await client.request(method, url, headers=headers, **kwargs)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_the_audit_log_refuses_update_and_delete(client) -> None:
    await client.post("/v1/cycles/1/confirm", headers=as_("vera"))
    db = sqlite3.connect(client.server.app[CONFIG].db("audit"))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET outcome = 'ok'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit")
    db.close()


async def test_metrics_report_requests_lag_and_open_breaks_by_type_and_age(client) -> None:
    await client.get("/v1/cycles/1/status", headers=as_("vera"))
    text = await (await client.get("/metrics")).text()
    assert 'colend_http_requests_total{method="GET",route="/v1/cycles/{cycle_id}/status",status="200"} 1.0' in text
    assert "colend_open_breaks{age=" in text and 'type="MISSING_IN_BOOKS"' in text
    assert "colend_http_request_seconds_bucket" in text and "colend_recon_run_active 0.0" in text


async def test_openapi_is_3_1_and_documents_every_api_route(client) -> None:
    spec = await (await client.get("/v1/openapi.json")).json()
    assert spec["openapi"] == "3.1.0"
    assert "/v1/cycles/{cycle_id}/status" in spec["paths"] and "post" in spec["paths"]["/v1/breaks/{break_id}/assign"]
    assert all("head" not in item for item in spec["paths"].values())
    body = spec["paths"]["/v1/cycles/{cycle_id}/instructions/{index}/payment"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/PaymentRefIn")
    docs = await client.get("/v1/docs")
    assert docs.status == 200 and "/v1/cycles/{cycle_id}/status" in await docs.text()


async def test_regulator_sees_exposures_and_the_breach_with_the_loan_causing_it(client) -> None:
    assert (await client.get("/v1/regulator/exposures", headers=as_("alice"))).status == 403
    report = await (await client.get("/v1/regulator/exposures", headers=as_("rita"))).json()
    webank = next(b for b in report["banks"] if b["bank"] == "WEBANK")
    assert webank["figures"]["tier1_net_capital_fen"] == 1_000_000
    pair = next(p for p in webank["partners"] if p["partner"] == "MYBANK")
    assert (pair["exposure_fen"], pair["limit_fen"], pair["status"]) == (300_000, 250_000, "BREACH")
    breaches = (await (await client.get("/v1/regulator/breaches", headers=as_("rita"))).json())["breaches"]
    assert [(b["rule"], b["bank"], b["partner"], [x["loan_id"] for x in b["loans"]]) for b in breaches] == [
        ("PARTNER_TIER1", "WEBANK", "MYBANK", ["LN-1"])
    ]
    metrics = await (await client.get("/metrics")).text()
    assert 'colend_policy_breach{bank="WEBANK",partner="MYBANK",rule="PARTNER_TIER1"} 1.0' in metrics
    assert 'colend_policy_exposure_fen{bank="WEBANK",partner="MYBANK",rule="PARTNER_TIER1"} 300000.0' in metrics
    page = await (await client.get("/dashboard/exposures", headers=as_("rita"))).text()
    assert "LN-1 (3,000.00)" in page and "BREACH" in page


async def test_a_payment_left_sending_by_a_crash_is_settled_from_the_chain_on_restart(world, signer) -> None:
    import datetime as dt

    from aiohttp.test_utils import TestClient, TestServer

    from clearing.service.app import build_app
    from clearing.service.approvals import ApprovalStore, ProposalState
    from tests.clearing.service.world import keyring

    store = ApprovalStore(world.config.db("approvals"))
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    first = store.propose(bank="WEBANK", cycle_id=3, index=0, payment_ref="CNAPS-9", by="alice", at=now)
    store.start_sending("WEBANK", first.proposal_id, by="bob", at=now)  # then the process dies
    store.close()
    async with TestClient(TestServer(build_app(world.config, keyring()))) as client:
        page = await (await client.get("/v1/payments", headers=as_("vera"))).json()
        assert page["items"][0]["state"] == ProposalState.FAILED.value
        assert page["items"][0]["failure"].startswith("interrupted")
        again = await client.post("/v1/cycles/3/instructions/0/payment", json={"payment_ref": "CNAPS-9"}, headers=as_("alice"))
        assert again.status == 201  # the officers may enter it again


async def test_a_regulator_service_reads_every_bank_and_writes_nothing(tmp_path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from clearing.service.app import build_app
    from tests.clearing.service.world import build_world, keyring

    world = build_world(tmp_path, mode="regulator")
    async with TestClient(TestServer(build_app(world.config, keyring()))) as client:
        cycles = await (await client.get("/v1/cycles", headers=as_("rita"))).json()
        assert [c["cycle_id"] for c in cycles["items"]] == [3, 2, 1]
        entries = await client.get("/v1/entries?bank=MYBANK", headers=as_("rita"))
        assert entries.status == 200 and [e["entry_id"] for e in (await entries.json())["items"]] == ["E1"]
        refused = await client.post("/v1/runs", headers=as_("rita"))
        assert refused.status == 403
        status = await client.get("/v1/cycles/2/status", headers=as_("rita"))
        assert status.status == 200


async def test_the_status_answer_follows_each_new_block(client) -> None:
    from clearing.service.state import SETTLEMENT
    from contracts.ids import text_id
    from tests.clearing.service.world import event

    before = await (await client.get("/v1/cycles/3/status", headers=as_("vera"))).json()
    assert before["instructions"][0]["state"] == "UNPAID"
    client.server.app[SETTLEMENT].apply_block(
        6, [event("PaymentRecorded", cycleId=3, index=0, payer=text_id("WEBANK"), paymentRef=text_id("CNAPS-7"))]
    )
    after = await (await client.get("/v1/cycles/3/status", headers=as_("vera"))).json()
    assert after["instructions"][0]["state"] == "PAID" and after["instructions"][0]["payment_ref"] == "CNAPS-7"
    assert (await client.get("/v1/cycles/2/status", headers=as_("vera"))).status == 404


async def test_a_report_still_computing_at_shutdown_finishes_before_the_index_closes(tmp_path, monkeypatch) -> None:
    """The exposure report reads the index in a thread that outlives a cancelled request; closing the index under
    its LevelDB iterator crashed the whole process (a segfault in CI), so shutdown waits for it."""
    import threading

    from aiohttp.test_utils import TestClient, TestServer

    import clearing.policy as policy
    from clearing.indexer.store import IndexStore
    from clearing.service.app import build_app
    from tests.clearing.service.world import build_world, keyring

    started, release = threading.Event(), threading.Event()
    events: list[str] = []
    real_report, real_close = policy.report, IndexStore.close

    def slow_report(store, **kwargs):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        result = real_report(store, **kwargs)
        events.append("report finished")
        return result

    def close(self) -> None:  # type: ignore[no-untyped-def]
        events.append("index closed")
        real_close(self)

    world = build_world(tmp_path, mode="regulator")
    monkeypatch.setattr(policy, "report", slow_report)
    monkeypatch.setattr(IndexStore, "close", close)
    async with TestClient(TestServer(build_app(world.config, keyring()))) as client:
        request = asyncio.ensure_future(client.get("/v1/regulator/exposures", headers=as_("rita")))
        assert await asyncio.to_thread(started.wait, 10)
        request.cancel()  # the caller goes away; the report's thread goes on
        with pytest.raises(asyncio.CancelledError):
            await request
        threading.Timer(0.2, release.set).start()  # still reading when the service begins to stop
    assert events == ["report finished", "index closed"]
