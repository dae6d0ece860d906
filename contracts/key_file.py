"""Reads the 0x-hex secp256k1 key files, mode 0600, that `colend init` writes (node/keyfiles.py): the one
reader of that format, for the deployer's key here and the node's keys there; the key is never printed.

contracts/ sits below node/ and cannot import it, so the reader lives here and node/keyfiles.py uses it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.errors import KeyFileInvalid

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

KEY_LENGTH = 32


def read_key(path: Path | str) -> bytes:
    """The 32-byte private key in `path`; refuses a file that others than its owner may read."""
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
    if len(key) != KEY_LENGTH:
        raise KeyFileInvalid(f"key file {path} does not hold a 32-byte hex private key")
    return key


def load_account(path: Path | str) -> LocalAccount:
    """The account of the key in `path`, read as `read_key` reads it."""
    from eth_account import Account  # deferred: 0.3 s to import, and the node reads its keys without it

    return Account.from_key(read_key(path))
