"""Reconciliation runs in the service, seen through the API: on request, on schedule, when the books change,
failing with their code, and waiting for the index to reach the head they started at."""

from __future__ import annotations

import asyncio
import json

import pytest

import clearing.service.runs as runs_module
from clearing.service.state import FOLLOW, INDEX, RUNS
from tests.clearing.service.conftest import as_

pytestmark = pytest.mark.timeout(60)


async def wait_for(predicate, timeout_s: float = 30.0):
    """Polls until `predicate()` returns something truthy (no fixed sleeps as assertions)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_a_run_started_by_request_reports_progress_and_a_statement(client) -> None:
    started = await client.post("/v1/runs", headers=as_("alice"))
    assert started.status == 202
    run_id = (await started.json())["run_id"]
    going = (await (await client.get("/v1/runs", headers=as_("vera"))).json())["current"]
    assert (
        going["run_id"] == run_id
        and going["stages"] == 5
        and going["stage"] in ("queued", "load", "match", "breaks", "statement")
    )
    busy = await client.post("/v1/runs", headers=as_("bob"))
    assert busy.status == 409  # one run at a time

    async def finished():
        page = await (await client.get("/v1/runs", headers=as_("vera"))).json()
        return next((r for r in page["items"] if r["run_id"] == run_id and r["finished_at"]), None)

    run = await wait_for(finished)
    assert run["verdict"] == "BREAKS" and run["statement"]["overall"]["residual"] == 0
    assert run["trigger"] == "request:alice"
    detail = await client.get(f"/v1/runs/{run_id}", headers=as_("rita"))
    assert detail.status == 200
    page = await (await client.get(f"/dashboard/runs/{run_id}", headers=as_("vera"))).text()
    assert "<strong>BREAKS</strong>" in page and "-1,234,492.89" in page  # chain total of entries, in yuan


async def test_changed_books_start_a_run_by_themselves(tmp_path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from clearing.service.app import build_app
    from tests.clearing.service.world import build_world, keyring

    world = build_world(tmp_path, watch_s=0.05)
    async with TestClient(TestServer(build_app(world.config, keyring()))) as client:

        async def runs() -> list[dict]:
            return (await (await client.get("/v1/runs", headers=as_("vera"))).json())["items"]

        async def finished(count: int):
            items = await runs()
            return items if len(items) >= count and all(r["finished_at"] for r in items) else None

        first = await wait_for(lambda: finished(1))  # books never reconciled by this service: a first run
        assert [r["trigger"] for r in first] == ["books_changed"]
        world.books.write_text(world.books.read_text().replace("-26.00", "-25.00"))  # E2 corrected in the books
        second = await wait_for(lambda: finished(2))
        assert second[0]["trigger"] == "books_changed"
        detail = await (await client.get("/v1/breaks/AMOUNT_MISMATCH/CLEARING_ENTRY/E2", headers=as_("vera"))).json()
        assert detail["item"]["state"] == "RESOLVED" and detail["history"][-1]["actor"] == "system"
        assert not client.server.app[RUNS].books_changed()  # unchanged since the last run: nothing more starts


async def test_a_run_that_fails_keeps_its_error_code_and_the_service_goes_on(client, world) -> None:
    (world.root / "mapping.toml").write_text("[columns]\nkey = 'ref_no'\n")  # no amount, kind, date: unusable
    started = await client.post("/v1/runs", headers=as_("alice"))
    run_id = (await started.json())["run_id"]

    async def finished():
        run = await (await client.get(f"/v1/runs/{run_id}", headers=as_("vera"))).json()
        return run if run["finished_at"] else None

    run = await wait_for(finished)
    assert run["verdict"] is None and run["error_code"] == "clearing.bad_mapping"
    assert (await client.get("/v1/cycles/1/status", headers=as_("vera"))).status == 200
    again = await client.post("/v1/runs", headers=as_("alice"))
    assert again.status == 202  # the failed run does not block the next one


async def test_runs_start_on_the_schedule_from_the_config(tmp_path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from clearing.service.app import build_app
    from tests.clearing.service.world import build_world, keyring

    world = build_world(tmp_path, schedule_s=0.1)
    async with TestClient(TestServer(build_app(world.config, keyring()))) as client:

        async def scheduled():
            items = (await (await client.get("/v1/runs", headers=as_("vera"))).json())["items"]
            return [r for r in items if r["trigger"] == "schedule" and r["finished_at"]]

        runs = await wait_for(scheduled)
        assert runs[0]["verdict"] == "BREAKS"


async def _run_verdict(client) -> dict:
    run_id = (await (await client.post("/v1/runs", headers=as_("alice"))).json())["run_id"]

    async def finished():
        page = await (await client.get("/v1/runs", headers=as_("vera"))).json()
        return next((r for r in page["items"] if r["run_id"] == run_id and r["finished_at"]), None)

    return await wait_for(finished)


async def test_a_run_waits_for_the_index_to_reach_the_head_it_started_at(client) -> None:
    """Blocks the follower has seen but not yet indexed when a run starts are not a reason for INCOMPLETE."""
    app = client.server.app
    app[FOLLOW].head = 7  # the node is at 7, the index at 5

    async def index_catches_up() -> None:
        await asyncio.sleep(0.3)
        for number in (6, 7):
            app[INDEX].apply_block(number, [])

    catching_up = asyncio.create_task(index_catches_up())
    run = await _run_verdict(client)
    await catching_up
    assert run["verdict"] == "BREAKS" and run["statement"]["overall"]["residual"] == 0


async def test_a_run_is_incomplete_when_the_index_cannot_reach_the_head(client, monkeypatch) -> None:
    monkeypatch.setattr(runs_module, "INDEX_CATCH_UP_S", 0.2)
    client.server.app[FOLLOW].head = 9  # nothing will index blocks 6-9
    run = await _run_verdict(client)
    assert run["verdict"] == "INCOMPLETE"
    assert "index is 4 block(s) behind the chain head" in json.dumps(run["statement"])
