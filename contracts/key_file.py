"""Reads the deployer's key file: the 0x-hex secp256k1 key, mode 0600, that `colend init` writes (node/keyfiles.py).

contracts/ sits below node/ and cannot import it, so the format is read here again; the key is never printed.
"""

from __future__ import annotations

import stat
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from contracts.errors import KeyFileInvalid


def load_account(path: Path | str) -> LocalAccount:
    """The account of the key in `path`; refuses a file that others than its owner may read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as err:
        raise KeyFileInvalid(f"no key file at {path}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise KeyFileInvalid(f"cannot read key file {path}: {err}") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileInvalid(f"key file {path} is accessible to others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    hex_key = text.removeprefix("0x")
    try:
        key = bytes.fromhex(hex_key)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyFileInvalid(f"key file {path} does not hold a 32-byte hex private key")
    return Account.from_key(key)
