"""RPC exposure: loopback by default; beyond it only with a bearer token or a consortium-CA client certificate."""

from __future__ import annotations

import ssl
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from network.pki.tls import client_context
from node.config import NodeConfig, P2PConfig
from node.errors import RpcExposedWithoutAuth
from node.rpc.exposure import rpc_guard
from node.rpc.server import bound_port, serve
from tests.network.pki_factory import MintedCa
from tests.node.rpc.memory_backend import MemoryBackend

TOKEN = "s3cret-token-of-the-bank-ops-team"
CALL = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}


def test_loopback_needs_no_auth_and_any_other_address_refuses_to_start_without_it(tmp_path: Path) -> None:
    assert rpc_guard(NodeConfig(base_dir=str(tmp_path))).middlewares == ()
    with pytest.raises(RpcExposedWithoutAuth, match=r"rpc\.token_file"):
        rpc_guard(NodeConfig(rpc_host="0.0.0.0", base_dir=str(tmp_path)))
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(RpcExposedWithoutAuth, match="16 characters"):
        rpc_guard(NodeConfig(rpc_host="0.0.0.0", rpc_token_file="short", base_dir=str(tmp_path)))


async def test_a_token_protected_rpc_refuses_callers_without_the_bearer_token(tmp_path: Path) -> None:
    (tmp_path / "rpc.token").write_text(TOKEN + "\n")
    guard = rpc_guard(NodeConfig(rpc_host="0.0.0.0", rpc_token_file="rpc.token", base_dir=str(tmp_path)))
    runner = await serve(MemoryBackend(chain_id=7), "127.0.0.1", 0, middlewares=guard.middlewares)
    url = f"http://127.0.0.1:{bound_port(runner)}/"
    try:
        async with aiohttp.ClientSession() as client:
            async with client.post(url, json=CALL) as denied:
                assert denied.status == 401
                assert (await denied.json())["error"]["code"] == -32001
            async with client.post(url, json=CALL, headers={"Authorization": "Bearer wrong"}) as wrong:
                assert wrong.status == 401
            async with client.post(url, json=CALL, headers={"Authorization": f"Bearer {TOKEN}"}) as ok:
                assert (await ok.json())["result"] == "0x7"
    finally:
        await runner.cleanup()


async def test_a_client_certificate_rpc_admits_consortium_certificates_only(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path / "ca")
    node_tls, _, _ = ca.node("node", "WEBANK")
    caller_tls, _, caller_serial = ca.node("caller", "REGULATOR", role="OBSERVER")
    config = NodeConfig(rpc_host="0.0.0.0", rpc_client_ca=str(ca.ca_path), base_dir=str(tmp_path),
                        p2p=P2PConfig(tls_cert=str(node_tls.cert_chain), tls_key=str(node_tls.key),
                                      tls_crl=str(ca.crl_path)))
    guard = rpc_guard(config)
    assert guard.scheme == "https"
    runner = await serve(MemoryBackend(chain_id=7), "127.0.0.1", 0, middlewares=guard.middlewares,
                         ssl_context=guard.ssl_context)
    url = f"https://127.0.0.1:{bound_port(runner)}/"
    anonymous = ssl.create_default_context(cafile=str(ca.ca_path))
    anonymous.check_hostname = False
    try:
        async with aiohttp.ClientSession() as client:
            async with client.post(url, json=CALL, ssl=client_context(caller_tls)) as ok:
                assert (await ok.json())["result"] == "0x7"
            with pytest.raises(aiohttp.ClientError):
                async with client.post(url, json=CALL, ssl=anonymous) as _:
                    pass
        ca.revoke(caller_serial)
        async with aiohttp.ClientSession() as client, client.post(url, json=CALL, ssl=client_context(caller_tls)) as revoked:
            assert revoked.status == 403
    finally:
        await runner.cleanup()


def test_an_observer_config_round_trips(tmp_path: Path) -> None:
    from node.config import PeerConfig, load_config

    config = NodeConfig(role="observer", member_id="REGULATOR", metrics_port=9100, rpc_token_file="t",
                        p2p=P2PConfig(port=30303, peers=(PeerConfig("wss://127.0.0.1:1/p2p", "WEBANK", "0x" + "11" * 20),)))
    config.write(tmp_path / "node.toml")
    assert replace(load_config(tmp_path / "node.toml"), base_dir=".") == config


async def test_every_group_endpoint_is_guarded_and_an_unknown_group_is_not_revealed_before_auth(tmp_path: Path) -> None:
    (tmp_path / "rpc.token").write_text(TOKEN + "\n")
    guard = rpc_guard(NodeConfig(rpc_host="0.0.0.0", rpc_token_file="rpc.token", base_dir=str(tmp_path)))
    server = await serve(MemoryBackend(chain_id=7), "127.0.0.1", 0, group="A+B", middlewares=guard.middlewares)
    server.add_endpoint("A+C", MemoryBackend(chain_id=8))
    base = f"http://127.0.0.1:{bound_port(server)}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession() as client:
            for path in ("/", "/g/A+B", "/g/A+C", "/g/A+D", "/g/", "/nowhere"):
                async with client.post(base + path, json=CALL) as denied:
                    assert denied.status == 401, path
                    assert (await denied.json())["error"]["code"] == -32001
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await client.ws_connect(base + "/g/A+C")
            assert info.value.status == 401
            for path, chain_id in (("/", "0x7"), ("/g/A+B", "0x7"), ("/g/A+C", "0x8")):
                async with client.post(base + path, json=CALL, headers=auth) as ok:
                    assert (await ok.json())["result"] == chain_id
            async with client.ws_connect(base + "/g/A+C", headers=auth) as ws:
                await ws.send_json(CALL)
                assert (await ws.receive_json(timeout=5))["result"] == "0x8"
            async with client.post(base + "/g/A+D", json=CALL, headers=auth) as unknown:
                assert unknown.status == 404
                assert (await unknown.json())["error"]["data"]["code"] == "node.unknown_group"
    finally:
        await server.cleanup()


async def test_a_revoked_client_certificate_is_refused_at_every_group_endpoint(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path / "ca")
    node_tls, _, _ = ca.node("node", "WEBANK")
    caller_tls, _, caller_serial = ca.node("caller", "WEBANK")
    guard = rpc_guard(NodeConfig(rpc_host="0.0.0.0", rpc_client_ca=str(ca.ca_path), base_dir=str(tmp_path),
                                 p2p=P2PConfig(tls_cert=str(node_tls.cert_chain), tls_key=str(node_tls.key),
                                               tls_crl=str(ca.crl_path))))
    server = await serve(MemoryBackend(chain_id=7), "127.0.0.1", 0, group="A+B", middlewares=guard.middlewares,
                         ssl_context=guard.ssl_context)
    server.add_endpoint("A+C", MemoryBackend(chain_id=8))
    base = f"https://127.0.0.1:{bound_port(server)}"
    try:
        async with aiohttp.ClientSession() as client, client.post(base + "/g/A+C", json=CALL,
                                                                 ssl=client_context(caller_tls)) as ok:
            assert (await ok.json())["result"] == "0x8"
        ca.revoke(caller_serial)
        async with aiohttp.ClientSession() as client:
            for path in ("/g/A+C", "/g/A+B", "/g/A+D"):
                async with client.post(base + path, json=CALL, ssl=client_context(caller_tls)) as revoked:
                    assert revoked.status == 403, path
    finally:
        await server.cleanup()
