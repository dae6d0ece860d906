"""Writing a consortium folder while its nodes read it: each file whole or not at all, one writer at a time.

A running node re-reads its node.toml about once a second, so a file is written beside itself and renamed
over the old one; and two commands editing one folder at once would lose each other's changes to
consortium.json and the node configs, so each command holds the folder's lock for its whole read-modify-write.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """The old content or the new, never half: a temp file in the same folder, synced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes it 0600; keep the mode of the file it replaces (a new one: readable, as write_text makes it)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """The folder's lock, held until the block ends (waits for another command holding it). It is a lock on
    the folder itself, so that a command that is refused leaves no file behind."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such consortium folder")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it
