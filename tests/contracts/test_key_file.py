"""The deployer's key file: the format `colend init` writes, readable only by its owner."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from contracts.errors import KeyFileInvalid
from contracts.key_file import load_account
from node.keyfiles import new_private_key, write_key


def test_reads_the_key_files_colend_init_writes(tmp_path: Path) -> None:
    key = new_private_key()
    write_key(tmp_path / "deployer.key", key)
    assert load_account(tmp_path / "deployer.key").address == Account.from_key(key).address


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    write_key(tmp_path / "deployer.key", new_private_key())
    (tmp_path / "deployer.key").chmod(0o644)
    with pytest.raises(KeyFileInvalid, match=r"accessible to others \(mode 644\): chmod 600 it"):
        load_account(tmp_path / "deployer.key")


@pytest.mark.parametrize("text", ["0x1234\n", "not hex at all\n", ""])
def test_a_file_without_a_32_byte_key_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "k"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileInvalid, match="does not hold a 32-byte hex private key") as err:
        load_account(path)
    assert text.strip() == "" or text.strip() not in err.value.message  # never echoes the file's content


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileInvalid, match="no key file at"):
        load_account(tmp_path / "missing.key")
