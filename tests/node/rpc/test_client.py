"""The node's own JSON-RPC client posts to the path of its URL, so a /g/<group> URL reaches that group."""

from __future__ import annotations

import pytest

from node.defaults import DEFAULT_GROUP
from node.rpc.client import JsonRpcClient, RemoteError


def test_the_client_posts_to_its_urls_group_path(served_url: str) -> None:
    root = served_url.rstrip("/")
    assert JsonRpcClient(f"{root}/g/{DEFAULT_GROUP}").call("eth_chainId") == JsonRpcClient(root).call("eth_chainId")
    with pytest.raises(RemoteError) as refused:
        JsonRpcClient(f"{root}/g/another-group").call("eth_chainId")
    assert refused.value.data["data"]["code"] == "node.unknown_group"
