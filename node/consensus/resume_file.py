"""Where a validator keeps its consensus ResumeState: a small file replaced atomically and fsynced, so after
kill -9 it holds the last state the core asked to persist, never a torn one."""

from __future__ import annotations

import os
from pathlib import Path

from network.qbft import ResumeState, decode_resume_state, encode_resume_state
from network.qbft.errors import MalformedMessage
from node.errors import StoreCorrupted


class ResumeFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".tmp")

    def load(self) -> ResumeState | None:
        """None before the first vote; a file that does not decode stops the node (it may have voted)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return decode_resume_state(data)
        except MalformedMessage as exc:
            raise StoreCorrupted(f"consensus resume state {self.path} is unreadable: {exc}") from exc

    def save(self, state: ResumeState) -> None:
        data = encode_resume_state(state)
        with open(self._tmp, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(self._tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself must survive a crash
        finally:
            os.close(dir_fd)

