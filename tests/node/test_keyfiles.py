"""The node writes its keys 0600 and reads them through the one checked reader (contracts/key_file.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from contracts.errors import KeyFileInvalid
from node.keyfiles import new_private_key, read_key, write_key


def test_a_key_the_node_writes_is_its_owners_alone_and_reads_back(tmp_path: Path) -> None:
    key = new_private_key()
    write_key(tmp_path / "keys" / "validator.key", key)
    assert stat.S_IMODE((tmp_path / "keys" / "validator.key").stat().st_mode) == 0o600
    assert read_key(tmp_path / "keys" / "validator.key") == key


def test_the_node_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    write_key(tmp_path / "validator.key", new_private_key())
    (tmp_path / "validator.key").chmod(0o640)
    with pytest.raises(KeyFileInvalid, match=r"accessible to others \(mode 640\)") as err:
        read_key(tmp_path / "validator.key")
    assert err.value.code == "contracts.key_file_invalid"
