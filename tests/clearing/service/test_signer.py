"""The service signs settlement actions with the bank's key, read by the one key-file reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearing.errors import ConfigError
from clearing.service.signer import load_account_key

KEY = "0x" + "11" * 32


def test_the_banks_key_is_read_from_a_private_file(tmp_path: Path) -> None:
    key = tmp_path / "bank.key"
    key.write_text(KEY + "\n")
    key.chmod(0o600)
    assert load_account_key(key).key.hex() == KEY[2:]


@pytest.mark.parametrize(("text", "mode", "reason"), [
    (KEY, 0o644, "accessible to others"),
    ("0x1234", 0o600, "32-byte hex private key"),
    (None, 0o600, "no key file"),
])
def test_a_key_others_can_read_or_not_a_key_is_a_config_error(tmp_path: Path, text: str | None, mode: int,
                                                              reason: str) -> None:
    key = tmp_path / "bank.key"
    if text is not None:
        key.write_text(text)
        key.chmod(mode)
    with pytest.raises(ConfigError, match=reason) as info:
        load_account_key(key)
    assert info.value.code == ConfigError.code
