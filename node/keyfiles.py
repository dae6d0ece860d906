"""secp256k1 key files: 0x-hex private key, created with mode 0600 and never logged or printed.

Read by contracts/key_file.py's `read_key`, the one reader of the format, which refuses a key others may read.
"""

from __future__ import annotations

import os
from pathlib import Path

from coincurve import PrivateKey

from contracts.key_file import read_key

__all__ = ["new_private_key", "read_key", "write_key"]


def new_private_key() -> bytes:
    return PrivateKey().secret


def write_key(path: Path, key: bytes) -> None:
    """Create-exclusive with 0600 from the first byte, so the key is never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("0x" + key.hex() + "\n")
